"""What the policy promises about one touchpoint beyond what it collects and why, in sentences
drawn from the manifest: the same keys Charter enforces at run time, so the text cannot promise
what the system does not do.

- a field with ``prior_notice``: collected only after that notice was sent
  (``charter.services.prior_notices``);
- ``visibility``: what is public, what is public only by the person's choice
  (``charter.services.publication``, GDPR Art. 25(2));
- ``publication``: what an erasure does to published content and who is told (Art. 17(2));
- ``partners``: who the data comes from and whether the person is told (Art. 14(2)(f), 14(5));
- ``survey``: results in aggregate, quotes only with the purpose's consent;
- ``contest``: how winners are named, and the sponsor who receives entries;
- a ``soft_opt_in`` purpose established here: the e-mails it allows and the opt-outs
  (ePrivacy Directive Art. 13(2)).
"""

from __future__ import annotations

from charter.manifest.models import (
    ErasureOfPublic,
    LegalBasis,
    Manifest,
    Touchpoint,
    Visibility,
    WinnerNames,
)
from charter.manifest.wording import duration_words, label

_WINNER_NAMES = {
    WinnerNames.FIRST_NAME_AND_INITIAL: "by first name and last initial",
    WinnerNames.FULL_NAME: "by full name",
}


def _words(field: str) -> str:
    """A field's name inside a sentence: "display name", but "IP address"."""
    text = label(field)
    return text if text[:2].isupper() else text[:1].lower() + text[1:]


def _listing(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def touchpoint_promises(manifest: Manifest, key: str, tp: Touchpoint) -> tuple[str, ...]:
    """The touchpoint's particular promises, one sentence each, in a fixed order."""
    said: list[str] = []
    for field, spec in tp.fields.items():
        notice = manifest.notices.get(spec.prior_notice or "")
        if notice is not None:
            said.append(
                f"We collect {_words(field)} only after we have sent you our notice "
                f'"{notice.name}" in advance; a notice covers {duration_words(notice.valid_for)}.'
            )
    public = [_words(f) for f, s in tp.fields.items() if s.visibility is Visibility.PUBLIC]
    if public:
        verb = "is" if len(public) == 1 else "are"
        said.append(f"Your {_listing(public)} {verb} public: anyone can read them.")
    chosen = [_words(f) for f, s in tp.fields.items() if s.visibility is Visibility.CHOICE]
    if chosen:
        verb, them = ("stays", "it") if len(chosen) == 1 else ("stay", "them")
        said.append(
            f"Your {_listing(chosen)} {verb} private unless you choose to show {them} on your "
            "profile."
        )
    if tp.publication is not None:
        if tp.publication.on_erasure is ErasureOfPublic.DEIDENTIFY:
            erased = (
                "what you published is de-identified: it stays, shown as by "
                f'"{tp.publication.replacement}"'
            )
        else:
            erased = "what you published is deleted"
        told = [
            manifest.recipients[r].name
            for r in tp.publication.republishers
            if r in manifest.recipients
        ]
        also = (
            f", and we tell {_listing(told)}, and anyone we know copied it, to remove their copies"
            if told
            else ", and we tell anyone we know copied it to remove their copies"
        )
        said.append(f"If you ask us to erase your data, {erased}{also}.")
    partners = [manifest.partners[p] for p in tp.partners if p in manifest.partners]
    if partners:
        said.append(f"We receive this from {_listing([p.name for p in partners])}.")
        if any(p.exemption is None for p in partners):
            said.append(
                "We write to you within one month of receiving it, naming where it came from."
            )
        for partner in partners:
            if partner.exemption is not None:
                said.append(
                    f"We do not write separately to people whose data {partner.name} passes "
                    f"on. {partner.exemption.reason}"
                )
    if tp.survey is not None:
        said.append(
            "Results are published only as counts, with small groups left out and random noise "
            "that protects every respondent."
        )
        attribution = manifest.purposes.get(tp.survey.attribution_purpose or "")
        if tp.survey.quote_field is not None and attribution is not None:
            said.append(
                f"Your {_words(tp.survey.quote_field)} is quoted, with the name you gave, "
                f'only if you agree to "{attribution.name}"; otherwise it is never published.'
            )
    if tp.contest is not None:
        rules = tp.contest
        if rules.winners is WinnerNames.NONE:
            said.append("Winners' names are not published; the rules say so.")
        else:
            country = ", with their country" if rules.winner_country and rules.country_field else ""
            said.append(
                f"Winners are named {_WINNER_NAMES[rules.winners]}{country}, as the rules at "
                f"{rules.rules_url} say."
            )
        sponsor = manifest.recipients.get(rules.sponsor or "")
        if sponsor is not None:
            said.append(
                f"Entries are passed to the sponsor ({sponsor.name}), who uses them under its own "
                "privacy policy; we record each transfer."
            )
    for purpose in manifest.purposes.values():
        offer = purpose.soft_opt_in
        if (
            purpose.legal_basis is LegalBasis.SOFT_OPT_IN
            and offer is not None
            and key in offer.established_by
        ):
            said.append(
                f'As our customer you may receive "{purpose.name}" without being asked for '
                "consent; you can opt out on this form and in every e-mail."
            )
    return tuple(said)
