"""The technical and organisational security measures Charter itself enforces (GDPR Art. 32).

One list, shown in the public policy's security section and in every record of processing
(Art. 30(1)(g) asks for "a general description" of them), so the two never disagree. Each entry
states only what Charter does whatever the manifest says, and names where it is enforced:

- per-person encryption and crypto-shredding: ``charter.storage.vault``;
- keyed hashes for identity lookups: ``charter.storage.vault``;
- minimisation at collection, card numbers refused: ``charter.services.collection``,
  ``charter.domain.cards``;
- passwords as Argon2id hashes: ``charter.services.values`` (collected passwords, checked by
  ``charter.services.credentials`` and never shown: ``charter.domain.credentials``) and
  ``charter.services.staff`` (staff accounts, with lock-out);
- role-based access: ``charter.domain.permissions``, checked on every call;
- the hash-chained audit log: ``charter.storage.audit``, checked by ``charter audit verify``.

Measures of the company's own (its hosting, its staff training) are not Charter's to promise
and are not listed.
"""

from __future__ import annotations

SECURITY_MEASURES: tuple[str, ...] = (
    "Every personal value we hold is encrypted (AES-256-GCM) with a key that belongs to one "
    "person alone, itself encrypted by a master key kept outside the database. When a person's "
    "information is erased, their key is destroyed, so that no copy left behind can be read.",
    "We look people up by a keyed hash (HMAC-SHA256) of their e-mail address, telephone number "
    "or other identifier, so that the database alone neither reveals nor confirms them.",
    "We accept only the information each form declares, and refuse anything else without "
    "storing it.",
    "We never store payment card numbers: information containing one is refused and nothing of "
    "it is kept. We keep only the token the payment processor returns.",
    "Passwords, of customers' accounts and of our staff, are stored only as Argon2id hashes, "
    "never in a form that can be read back, and never shown or handed out, not even in a copy "
    "of your data (it says only that a password is set and when it last changed). A staff "
    "account is locked for 15 minutes after five failed logins.",
    "Access is controlled by role: each member of staff and each system has a role that allows "
    "only what its task needs, and every call is checked against it.",
    "Staff access and the handling of rights requests are recorded in a tamper-evident audit "
    "log: each entry is chained to the one before by a cryptographic hash, so that a change or "
    "a deletion shows when the log is checked.",
)
"""The measures, as sentences a reader of the policy understands."""
