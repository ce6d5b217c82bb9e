"""A person's email and phone number as the keyed hashes an erasure keeps of them.

The one place that says how an email and a phone are normalised before ``consent.keyed_hash``,
so that the erasure (which hashes what it erases), the sending engine (which refuses marketing
mail to an erased person who came back) and the opt-in that lifts that refusal all agree.

The hashed suppression list holds a phone only when it is a person's own (a mobile number):
an office's main line is shared by everyone who works there, and must not make their
colleagues unmailable. The consent ledger keeps the hash of any phone.
"""

from __future__ import annotations

import phonenumbers

from sokyaku.consent import services as consent_services
from sokyaku.consent.keyed_hash import keyed_hash
from sokyaku.contacts import normalize
from sokyaku.contacts.models import Contact


def email_hash(email: str) -> str:
    """The keyed hash of a normalised email (``""`` for none). An address that cannot be
    normalised is hashed as written, lower-cased."""
    if not email or not email.strip():
        return ""
    try:
        normal = normalize.email_normalize(email)
    except normalize.InvalidValue:
        normal = normalize.nfkc(email).lower()
    return keyed_hash(normal)


def phone_hash(phone: str, written: str = "") -> str:
    """The keyed hash of a phone number: its E.164 form, else the digits it was written with
    (``""`` when there are none)."""
    value = phone or normalize.phone_normalize(written) or normalize.phone_digits(written)
    return keyed_hash(value)


_PERSONAL_TYPES = frozenset(
    {phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.PERSONAL_NUMBER}
)


def personal_phone_hash(phone: str) -> str:
    """The keyed hash of an E.164 phone number that is a person's own (mobile or personal
    number), ``""`` for any other: the phone the hashed suppression list holds."""
    if not phone:
        return ""
    try:
        number = phonenumbers.parse(phone, None)
    except phonenumbers.NumberParseException:
        return ""
    return keyed_hash(phone) if phonenumbers.number_type(number) in _PERSONAL_TYPES else ""


def contact_hashes(contact: Contact) -> tuple[str, str]:
    """The keyed hashes of a contact's email and phone (any phone: the ledger's proof)."""
    return email_hash(contact.email), phone_hash(contact.phone, contact.phone_written)


def suppression_hashes(contact: Contact) -> tuple[str, str]:
    """The keyed hashes the hashed suppression list holds of a contact: its email, and its
    phone when that is the person's own (see the module docstring)."""
    return email_hash(contact.email), personal_phone_hash(contact.phone)


def hashed_suppression_lift(*, contact: Contact) -> int:
    """The contact opted in themselves (a form's opt-in, a confirmed double opt-in): take their
    email and phone off the hashed suppression list of erased people. Returns the rows lifted."""
    email, phone = suppression_hashes(contact)
    return consent_services.hashed_suppression_lift(email_hash=email, phone_hash=phone)
