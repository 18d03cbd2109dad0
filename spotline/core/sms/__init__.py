"""Help requests by SMS: compliance keywords, what a text says, and the conversation.

Three parts, all pure (no Django, no clock: time is passed in as ``now``):

1. ``keywords``: the carrier compliance keywords (STOP, START, HELP and their Spanish
   equivalents) and the confirmations carriers expect. The shell checks these before
   anything else; ``compliance`` says what one does given what the phone has open (a
   STOP word while help is on its way asks "cancel your request?" first; a lone HELP
   also starts a request).
2. ``understand``: what kind of help, where, and whether the person is breathing and
   conscious, read from free English or Spanish text with plain phrase lists. It is
   simple on purpose, so a dispatcher can predict it: ``docs/sms-examples.md`` shows what
   it makes of real-looking texts, and the same table is a test.
3. ``converse``: a small table-driven state machine that asks one question at a time
   (what, then where) and never dead-ends. After two unclear answers it assumes rather
   than asks again: help sent on a guess beats a loop, and a dispatcher can call back.

Replies come from ``replies.MESSAGES``, in English and Spanish, each at most 320
characters. English ones are plain GSM-7, the cheapest and most compatible SMS encoding;
Spanish ones keep their accents (á, í, ó, ú are not in GSM-7, so they travel as UCS-2).
No reply mentions the police except to say that we never send them.

Beside them: ``text`` (normalisation and size limits the parts share), ``responder`` (a
responder answering an offer by text, "YES 42") and ``checkin`` (check-ins by text:
"SPOT 5 <where>", OK, DONE, saved places).

This package re-exports nothing: import each name from the module that defines it.
"""
