"""The API login (``POST /api/v1/security/login``): FAB's, plus the code of a user's second factor.

The class keeps FAB's name, so its endpoint (``SecurityApi.login``), route and permissions stay the ones
the login limits (app/security/limits.py) and the OpenAPI description already know.
"""
from __future__ import annotations

from flask import request
from flask_appbuilder.api import safe
from flask_appbuilder.const import API_SECURITY_ACCESS_TOKEN_KEY, API_SECURITY_REFRESH_TOKEN_KEY
from flask_appbuilder.security.api import SecurityApi as FabSecurityApi
from flask_appbuilder.security.schemas import login_post
from flask_appbuilder.views import expose
from flask_jwt_extended import create_access_token, create_refresh_token
from marshmallow import ValidationError

CODE_REQUIRED = "Two-factor login is on for this account: send the code from the authenticator app as 'code'."
CODE_WRONG = "The two-factor code is wrong or has already been used."
SET_UP_FIRST = ("This account must log in with a second factor: set up two-factor login in the portal "
                "(My data) first. Machines use an API key.")


class SecurityApi(FabSecurityApi):
    @expose("/login", methods=["POST"])
    @safe
    def login(self):
        """A JWT for a user's email and password (and code)
        ---
        post:
          description: >-
            A JWT for a user's email and password, and the code of their second factor when they have one
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    username:
                      description: The user's email
                      type: string
                    password:
                      type: string
                    provider:
                      type: string
                      enum:
                      - db
                    refresh:
                      description: If true a refresh token is provided also
                      type: boolean
                    code:
                      description: >-
                        The 6-digit code of the user's authenticator app (or one of their recovery
                        codes); needed when the user has two-factor login
                      type: string
          responses:
            200:
              description: Authentication Successful
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      access_token:
                        type: string
                      refresh_token:
                        type: string
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
        """
        from app.extensions import db
        from app.security.limits import record_failed_login
        from app.services import two_factor

        if not request.is_json:
            return self.response_400(message="Request payload is not JSON")
        body = request.get_json(silent=True)
        payload = dict(body) if isinstance(body, dict) else body
        code = payload.pop("code", None) if isinstance(payload, dict) else None
        try:
            login_payload = login_post.load(payload)
        except ValidationError as error:
            return self.response_400(message=error.messages)
        if code is not None and not isinstance(code, str):
            return self.response_400(message={"code": ["Not a valid string."]})
        user = self.appbuilder.sm.auth_user_db(login_payload["username"], login_payload["password"])
        if not user:
            return self.response_401()
        if two_factor.is_enabled(user):
            if not code:
                return self.response(401, message=CODE_REQUIRED)
            if not two_factor.check(user, code):
                db.session.rollback()
                record_failed_login()
                return self.response(401, message=CODE_WRONG)
            db.session.commit()
        elif two_factor.must_set_up(user):
            return self.response(401, message=SET_UP_FIRST)
        tokens = {API_SECURITY_ACCESS_TOKEN_KEY: create_access_token(identity=str(user.id), fresh=True)}
        if login_payload.get("refresh"):
            tokens[API_SECURITY_REFRESH_TOKEN_KEY] = create_refresh_token(identity=str(user.id))
        return self.response(200, **tokens)
