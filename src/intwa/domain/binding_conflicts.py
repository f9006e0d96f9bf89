"""What stands in the way of a binding: the one rule the bind use case and every store follow."""

from __future__ import annotations

from intwa.domain.errors import PhoneNumberBoundToAnotherAccount, PhoneNumberNotInWaba, WabaBoundToAnotherAccount
from intwa.domain.models import Binding


def check_binding_conflicts(
    account_name: str, waba_id: str, phone_number_id: str, *, phone_binding: Binding | None, waba_owner: str | None
) -> Binding | None:
    """The phone number's binding when it is the one asked for, None when the way is free; else raise.

    `phone_binding` is the phone number's binding and `waba_owner` the account the WABA is bound to, as
    the caller reads them. The phone number is checked first: `PhoneNumberBoundToAnotherAccount` is the
    more specific answer, and the one that racing binds of one number all get. Then the WABA
    (`WabaBoundToAnotherAccount`), then the account's own binding of the number in another WABA
    (`PhoneNumberNotInWaba`).
    """
    if phone_binding is not None and phone_binding.account_name != account_name:
        raise PhoneNumberBoundToAnotherAccount(f"phone number `{phone_number_id}` is bound to another account")
    if waba_owner is not None and waba_owner != account_name:
        raise WabaBoundToAnotherAccount(f"WABA `{waba_id}` is bound to another account")
    if phone_binding is not None and phone_binding.waba_id != waba_id:
        raise phone_number_not_in_waba(waba_id, phone_number_id)
    return phone_binding


def phone_number_not_in_waba(waba_id: str, phone_number_id: str) -> PhoneNumberNotInWaba:
    """The error of a phone number that is not one of the WABA's."""
    return PhoneNumberNotInWaba(f"phone number `{phone_number_id}` is not a phone number of WABA `{waba_id}`")
