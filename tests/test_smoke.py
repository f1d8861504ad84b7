def test_login_page(client):
    r = client.get("/login/")
    assert r.status_code == 200
    assert b'name="username"' in r.data


def test_staff_list(staff_client, company_a, customer_a):
    from tests.factories import make_order
    order = make_order(company_a, customer_a)
    r = staff_client.get("/backend/orders/list/")
    assert r.status_code == 200, r.data[:2000]
    assert order.rma_number.encode() in r.data
    r = staff_client.get(f"/backend/orders/show/{order.id}")
    assert r.status_code == 200, r.data[-3000:]
    r = staff_client.get(f"/backend/orders/edit/{order.id}")
    assert r.status_code == 200, r.data[-3000:]
