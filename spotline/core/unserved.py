"""Why an incident ended without a responder on scene: one table, first match wins.

The reason feeds the reports, so it must name the true cause: a staffing gap as a
staffing gap, a refusal as a refusal. The search's failure is the cause of its last
round (``core.policy.why_nobody``, recorded as the incident's ``round_shortfall``
after every round), so a person who gives up after two minutes of nobody being free
was not served *because nobody was free*, not "cancelled". A cancel while a responder
held the incident, or while the search was still waiting on an open offer, is the
canceller's.
"""

from __future__ import annotations

from spotline.core.lifecycle import State
from spotline.core.policy import Actor, Shortfall

# The precedence, in the order ``unserved_reason`` applies it; ``docs/dispatch-policy.md``
# shows the same table. "last round's shortfall" is one of WHY_NOBODY's reasons or
# location_unknown.
PRECEDENCE: tuple[tuple[str, str], ...] = (
    ("closed as 'could not find them' (even after arriving)", "unable_to_locate"),
    ("a responder reached the scene", "(served: no reason)"),
    ("a responder held it when it was cancelled", "cancelled_by_person or _dispatcher"),
    ("the last round could offer nobody", "that round's shortfall, whoever closed it"),
    ("the person cancelled while offers were open", "cancelled_by_person"),
    ("Spotline closed it for age", "no_answer"),
    ("a dispatcher cancelled while offers were open", "cancelled_by_dispatcher"),
)


def unserved_reason(
    *,
    final_state: State,
    reached_scene: bool,
    held: bool,
    round_shortfall: Shortfall | None,
    closed_by: Actor,
) -> Shortfall | None:
    """``PRECEDENCE`` for one closed incident (None: served).

    ``held``: a responder held it when it closed (it was cancelled from assigned or en
    route); ``round_shortfall``: why its last round offered nobody, None if that round
    made offers. A responder who arrived and could not find the person did not serve
    them, so ``unable_to_locate`` comes before the scene.
    """
    if final_state is State.UNABLE_TO_LOCATE:
        return Shortfall.UNABLE_TO_LOCATE
    if reached_scene:
        return None
    if held:
        return (Shortfall.CANCELLED_BY_PERSON if closed_by is Actor.PERSON
                else Shortfall.CANCELLED_BY_DISPATCHER)
    if round_shortfall is not None:
        return round_shortfall
    if closed_by is Actor.PERSON:
        return Shortfall.CANCELLED_BY_PERSON
    if closed_by is Actor.SYSTEM:
        # Closed for age right after its last offers lapsed (timed.round_expire).
        return Shortfall.NO_ANSWER
    return Shortfall.CANCELLED_BY_DISPATCHER
