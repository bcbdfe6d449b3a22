"""Who may trade what, sans-I/O: users from ``[router.users]``, looked up by CURVE public key
(or the default user when CURVE is off), with the accounts and symbols each may trade."""

from __future__ import annotations

from dataclasses import dataclass

from common.kraken import clordid

from .settings import RouterSettings

ALL = "*"


@dataclass(frozen=True, slots=True)
class User:
    """One configured user. symbols None = every symbol."""

    name: str
    accounts: frozenset[str]
    symbols: frozenset[str] | None

    def may_trade(self, account: str, symbol: str | None) -> bool:
        """True if the user may act on ``account`` for ``symbol`` (None = every symbol of it)."""
        if account not in self.accounts:
            return False
        if self.symbols is None:
            return True
        return symbol is not None and symbol.upper() in self.symbols


class Permissions:
    """Users by name and by CURVE public key (Z85)."""

    def __init__(self, settings: RouterSettings) -> None:
        self.users: dict[str, User] = {}
        self.by_key: dict[str, User] = {}
        for name, u in settings.users.items():
            if not clordid.valid_user(name):
                raise ValueError(f"[router.users.{name}]: user names must match {clordid.USER_RE.pattern}")
            syms = None if ALL in u.symbols else frozenset(s.upper() for s in u.symbols)
            user = User(name, frozenset(u.accounts), syms)
            self.users[name] = user
            if u.curve_public_key:
                if len(u.curve_public_key) != 40:
                    raise ValueError(f"[router.users.{name}] curve_public_key must be 40 Z85 characters")
                if u.curve_public_key in self.by_key:
                    raise ValueError(f"[router.users.{name}] shares its CURVE key with another user")
                self.by_key[u.curve_public_key] = user

    def user_for_key(self, z85_public_key: str) -> User | None:
        """The user proving ``z85_public_key``, or None (unknown key: the handshake is refused)."""
        return self.by_key.get(z85_public_key)
