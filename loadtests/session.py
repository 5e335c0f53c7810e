"""A load-test user's Cognito login: its ID token, refreshed before it expires."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_cognito_idp.literals import AuthFlowTypeType

REFRESH_BEFORE_S = 60
"""How long before its expiry a token is refreshed: a request never carries one about to lapse."""
DEFAULT_EXPIRES_IN_S = 3600
"""A token's lifetime when Cognito's answer leaves it out (Cognito's own default for ID tokens)."""


@dataclass
class CognitoSession:
    """A Cognito login with its ID token, refreshed a minute before it expires.

    The first login is ``USER_PASSWORD_AUTH``; later ones use the refresh token it returned.
    """

    username: str
    password: str = field(repr=False)
    cognito: CognitoIdentityProviderClient = field(repr=False)
    client_id: str
    token: str = field(default="", repr=False)
    refresh_token: str = field(default="", repr=False)
    expires_at: float = 0.0

    def id_token(self) -> str:
        """The current ID token, logging in again first when it is (about to be) expired."""
        if time.time() > self.expires_at - REFRESH_BEFORE_S:
            self._authenticate()
        return self.token

    def _authenticate(self) -> None:
        flow: AuthFlowTypeType
        if self.refresh_token:
            flow, params = "REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": self.refresh_token}
        else:
            flow, params = "USER_PASSWORD_AUTH", {"USERNAME": self.username, "PASSWORD": self.password}
        result = self.cognito.initiate_auth(ClientId=self.client_id, AuthFlow=flow, AuthParameters=params)
        auth = result["AuthenticationResult"]
        self.token = auth["IdToken"]
        self.refresh_token = auth.get("RefreshToken", self.refresh_token)
        self.expires_at = time.time() + int(auth.get("ExpiresIn", DEFAULT_EXPIRES_IN_S))
