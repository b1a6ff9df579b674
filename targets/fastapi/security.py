"""Password hashing and access tokens.

Passwords: bcrypt at cost 4 (the library's minimum, about 1 ms a hash) instead of the template's
default cost 12 (about 250 ms): a load test registers many users and must not wait on hashing.
Tokens: HS256 JWTs (PyJWT) with `sub` = the user's uuid, signed by a key made fresh per process.
"""

import secrets
from datetime import datetime, timedelta, timezone

import bcrypt
import jwt

ALGORITHM = "HS256"
SECRET_KEY = secrets.token_urlsafe(32)
ACCESS_TOKEN_EXPIRE = timedelta(days=8)
BCRYPT_ROUNDS = 4


def hash_password(password: str) -> str:
    salt = bcrypt.gensalt(rounds=BCRYPT_ROUNDS)
    return bcrypt.hashpw(password.encode(), salt).decode()


def verify_password(password: str, hashed: str) -> bool:
    return bcrypt.checkpw(password.encode(), hashed.encode())


def create_access_token(subject: str) -> str:
    expire = datetime.now(timezone.utc) + ACCESS_TOKEN_EXPIRE
    return jwt.encode({"exp": expire, "sub": subject}, SECRET_KEY, algorithm=ALGORITHM)


def subject_of(token: str) -> str:
    """The token's `sub`; raises jwt.InvalidTokenError when the token is bad or expired."""
    payload = jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM])
    subject = payload.get("sub")
    if not isinstance(subject, str):
        raise jwt.InvalidTokenError("no sub")
    return subject
