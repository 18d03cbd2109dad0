"""What a responder records at the end: a closed list, so outcomes can be counted and
kept after the purge without keeping anything that identifies anyone."""

from __future__ import annotations

from enum import StrEnum


class Referral(StrEnum):
    TREATMENT = "treatment"
    DETOX = "detox"
    HOUSING = "housing"
    SHELTER = "shelter"
    MENTAL_HEALTH = "mental_health"
    MEDICAL_CARE = "medical_care"
    HARM_REDUCTION = "harm_reduction"  # supplies, drug checking
    PEER_SUPPORT = "peer_support"
    FOOD = "food"
    OTHER = "other"


def parse_referrals(values: list[str]) -> tuple[list[Referral], list[str]]:
    """Known referrals (deduplicated, sorted) and the unknown words, from form values
    that may each hold several comma-separated codes."""
    known: set[Referral] = set()
    unknown: list[str] = []
    for value in values:
        for word in value.split(","):
            word = word.strip().lower().replace(" ", "_")
            if not word:
                continue
            if word in Referral._value2member_map_:
                known.add(Referral(word))
            else:
                unknown.append(word[:40])
    return sorted(known), unknown
