"""Roles in chat (#7): `/role` for admins. The lines saying what changed come from the code
the CLI shares and stay in English, like the CLI; what surrounds them is here."""

from __future__ import annotations

EN: dict[str, str] = {
    "role.help": "{slash}role grant|revoke <slack:U…|telegram:…> <researcher|admin> · {slash}role list · who may use these commands (admins only)",
    "role.usage": "Usage: {slash}role grant <slack:U…|telegram:…> <researcher|admin> · {slash}role revoke <account> <role> · {slash}role list",
    "role.admins_only": "Sorry, only admins can change who holds a role.",
    "role.not_changed": "Nothing changed. {reason}",
}

FR: dict[str, str] = {
    "role.help": "{slash}role grant|revoke <slack:U…|telegram:…> <researcher|admin> · {slash}role list · qui peut utiliser ces commandes (admins seulement)",
    "role.usage": "Utilisation : {slash}role grant <slack:U…|telegram:…> <researcher|admin> · {slash}role revoke <compte> <rôle> · {slash}role list",
    "role.admins_only": "Désolé, seuls les admins peuvent changer qui détient un rôle.",
    "role.not_changed": "Rien n’a changé. {reason}",
}
