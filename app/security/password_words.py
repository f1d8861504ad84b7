"""Extra word lists for the password estimator: what German speakers type and zxcvbn does not know well.

zxcvbn's own lists are English (its password list has "sommer" and "passwort", but at ranks that let
"Sommer2024!" pass). These come first, so an estimator guessing in German order tries them early.
"""
from __future__ import annotations

# Common German password words, roughly most common first (published leak statistics: HPI
# Identity Leak Checker top lists; seasons, months, football clubs, pet names, greetings).
COMMON_DE = """
passwort kennwort hallo schatz sommer winter herbst fruehling frühling sonne sonnenschein geheim
liebe ichliebedich schatzi mausi maus schnucki hase hasi engel prinzessin baerchen bärchen
fussball fußball schalke bayern borussia dortmund werder eintracht hamburg berlin muenchen münchen
koeln köln frankfurt stuttgart deutschland willkommen zugang anmelden passwort1 start test
katze hund pferd blume schule arbeit familie kinder mama papa oma opa freund freundin
januar februar maerz märz april mai juni juli august september oktober november dezember
montag dienstag mittwoch donnerstag freitag samstag sonntag
weihnachten ostern urlaub feierabend wochenende zuhause heimat
hallo123 passwort123 geheim123 schalke04 bayern1900 bvb09 hsv1887
tschuess tschüss danke bitte servus moin gruss gruß
firma kunde service support reparatur portal zentrale buero büro verwaltung
""".split()

# Rows of a German (QWERTZ) keyboard: zxcvbn's keyboard graph is the US layout, where "qwertz" and
# "yxcvbnm" are no row. Every run of four or more keys of a row counts (reversed runs too: zxcvbn
# matches dictionary words backwards).
QWERTZ_ROWS = ("^1234567890ß´", "qwertzuiopü+", "asdfghjklöä#", "<yxcvbnm,.-")


def keyboard_runs(rows=QWERTZ_ROWS, shortest: int = 4) -> list[str]:
    """Every run of ``shortest`` or more neighbouring keys of each row, longest runs last."""
    runs = []
    for row in rows:
        for length in range(shortest, len(row) + 1):
            for start in range(len(row) - length + 1):
                runs.append(row[start:start + length])
    return list(dict.fromkeys(runs))
