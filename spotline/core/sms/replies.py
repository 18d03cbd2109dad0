"""Replies to a help request and to compliance keywords, in English and Spanish, each at
most ``MAX_REPLY`` characters.

English ones are plain GSM-7, the cheapest and most compatible SMS encoding; Spanish
ones keep their accents (á, í, ó, ú are not in GSM-7, so they travel as UCS-2). No reply
mentions the police except to say that we never send them.
"""

from __future__ import annotations

from spotline.core.sms.text import MAX_REPLY
from spotline.core.triage import Kind

_CHOICES_EN = "1 overdose, 2 mental health, 3 hurt or sick, 4 check on someone, 5 conflict, 6 other"
_CHOICES_ES = ("1 sobredosis, 2 salud mental, 3 herida o enfermedad, 4 ver cómo está alguien, "
               "5 conflicto, 6 otra cosa")
_WHERE_EN = "Where are you? A street address, cross streets, or a place people know."
_WHERE_ES = "¿Dónde estás? Una dirección, un cruce de calles o un lugar conocido."

MESSAGES: dict[str, dict[str, str]] = {
    "intro": {"en": "Spotline here. We never send police.",
              "es": "Aquí Spotline. Nunca enviamos a la policía."},
    "got_place": {"en": "Got it: {place}.", "es": "Entendido: {place}."},
    "ask_kind": {"en": f"What is happening? Reply with a number: {_CHOICES_EN}",
                 "es": f"¿Qué está pasando? Responde con un número: {_CHOICES_ES}"},
    "kind_again": {
        "en": f"Sorry, I did not get that. Reply with one number, for example 1 if someone "
              f"took too much: {_CHOICES_EN}",
        "es": f"Perdón, no entendí. Responde con un solo número, por ejemplo 1 si alguien "
              f"consumió demasiado: {_CHOICES_ES}",
    },
    "assume": {"en": "OK, we will send someone to help.",
               "es": "Bien, vamos a enviar a alguien a ayudar."},
    "ask_place": {"en": _WHERE_EN, "es": _WHERE_ES},
    "place_again": {
        "en": 'Sorry, I could not tell where you are. Send a street address, cross streets, '
              'or a place people know, like "5th and Main" or "behind the library on Elm".',
        "es": 'Perdón, no entendí dónde estás. Manda una dirección, un cruce de calles o un '
              'lugar conocido, como "5ta y Main" o "detrás de la biblioteca en Elm".',
    },
    "dispatched": {
        "en": "Sending a responder for {what} at: {place}. We never send police. Reply with a "
              "better location anytime. Reply STOP to stop texts.",
        "es": "Enviamos a una persona de apoyo por {what} en: {place}. Nunca enviamos a la "
              "policía. Responde con una mejor ubicación cuando quieras. Responde PARAR para "
              "no recibir más mensajes.",
    },
    "dispatched_unsure": {
        # No point: nobody is sent until there is one (core.policy), so no promise.
        "en": "We have your request for {what}. We could not tell exactly where you are, so "
              "someone may call or text you. To send someone, reply with an address, cross "
              "streets, or a place people know. We never send police.",
        "es": "Tenemos tu pedido por {what}. No supimos bien dónde estás, así que alguien te "
              "puede llamar o escribir. Para enviar a alguien, responde con una dirección, un "
              "cruce de calles o un lugar conocido. Nunca enviamos a la policía.",
    },
    # A place in words found on the map (``intake/sms_places.py``): say where we understood.
    "dispatched_to": {
        "en": "Sending a responder for {what} to {place}. Reply with a better place if that's "
              "wrong. We never send police. Reply STOP to stop texts.",
        "es": "Enviamos a una persona de apoyo por {what} a {place}. Responde con un lugar "
              "mejor si no es ahí. Nunca enviamos a la policía. Responde PARAR para no "
              "recibir más mensajes.",
    },
    # ... or several places it may be. Without a point nobody is sent automatically
    # (core.policy: no blind offers), so this must not say someone is coming: a
    # dispatcher has it, and the place is what lets us send someone.
    "dispatched_which": {
        "en": "We have your request for {what}. To send someone we need the place: which "
              "one is it? {place} - or tell us a street corner. We never send police.",
        "es": "Tenemos tu pedido por {what}. Para enviar a alguien necesitamos el lugar: "
              "¿cuál es? {place} - o dinos una esquina. Nunca enviamos a la policía.",
    },
    # ... or nothing on our map: a street corner, please.
    "dispatched_corner": {
        "en": "We have your request for {what} at: {place}, but could not find it on our "
              "map. To send someone, reply with a street corner or a place nearby. We never "
              "send police. Reply STOP to stop texts.",
        "es": "Tenemos tu pedido por {what} en: {place}, pero no lo encontramos en nuestro "
              "mapa. Para enviar a alguien, responde con una esquina o un lugar cercano. "
              "Nunca enviamos a la policía. Responde PARAR para no recibir más mensajes.",
    },
    # A correction after dispatch, found ("moved_to"), several ("which"), or not ("corner").
    "moved_to": {
        "en": "Thanks, the responder is now sent to {place}. Reply with a better place if "
              "that's wrong.",
        "es": "Gracias, la persona de apoyo va ahora a {place}. Responde con un lugar mejor "
              "si no es ahí.",
    },
    "which": {"en": "Which one is it? {place} - or tell us a street corner.",
              "es": "¿Cuál es? {place} - o dinos una esquina."},
    "corner": {
        "en": "We could not find that place on our map, so we kept what you wrote for the "
              "responder. Tell us a street corner or a place nearby.",
        "es": "No encontramos ese lugar en nuestro mapa; guardamos lo que escribiste para la "
              "persona de apoyo. Dinos una esquina o un lugar cercano.",
    },
    "naloxone": {
        "en": "If you have naloxone (Narcan), give it now. If they are not breathing, give "
              "rescue breaths. Stay with them if you can.",
        "es": "Si tienes naloxona (Narcan), dásela ahora. Si no respira, dale respiración de "
              "rescate. Quédate con la persona si puedes.",
    },
    "noted": {"en": "Thanks, we added that to your request. Text anytime with more details.",
              "es": "Gracias, lo añadimos a tu solicitud. Escribe cuando quieras con más "
                    "detalles."},
    "moved": {"en": "Thanks, we updated the location: {place}. Text anytime with more details.",
              "es": "Gracias, actualizamos la ubicación: {place}. Escribe cuando quieras con "
                    "más detalles."},
    "still_open": {"en": "Your request is still open. Text any details or a better location.",
                   "es": "Tu solicitud sigue abierta. Escribe cualquier detalle o una mejor "
                         "ubicación."},
    # For the shell's keyword handling; {org} is the organization's name.
    "stop": {"en": "{org}: you will get no more texts from us. Reply START to get texts again.",
             "es": "{org}: no te enviaremos más mensajes. Responde INICIO para volver a "
                   "recibirlos."},
    "start": {"en": "{org}: you will get texts from us again. Text what is happening and "
                    "where to ask for help. Reply STOP to stop.",
              "es": "{org}: volverás a recibir nuestros mensajes. Escribe qué pasa y dónde "
                    "para pedir ayuda. Responde PARAR para dejar de recibirlos."},
    "help": {"en": "{org}: text what is happening and where, and we send a trained community "
                   "responder. We never send police. Reply STOP to stop texts.",
             "es": "{org}: escribe qué pasa y dónde, y enviamos a una persona de apoyo de la "
                   "comunidad. Nunca enviamos a la policía. Responde PARAR para dejar de "
                   "recibir mensajes."},
    # A STOP word while something is open (``compliance.py``): first a question...
    "ask_cancel": {
        "en": "Do you want to cancel your request for help? Reply YES to cancel help, or tell "
              "us what's happening. Reply STOP again to get no more texts from us.",
        "es": "¿Quieres cancelar tu solicitud de ayuda? Responde SÍ para cancelar la ayuda, o "
              "cuéntanos qué pasa. Responde PARAR otra vez para no recibir más mensajes.",
    },
    "ask_on_scene": {
        "en": "A responder is with you now: tell them if you do not need help. Reply STOP "
              "again to get no more texts from us.",
        "es": "Una persona de apoyo está contigo ahora: dile si no necesitas ayuda. Responde "
              "PARAR otra vez para no recibir más mensajes.",
    },
    "ask_checkin": {
        "en": "Your check-in is still on. Reply DONE to end it. Reply STOP again to get no "
              "more texts: we could not check on you, and would send responders if you miss "
              "a check.",
        "es": "Seguimos pendientes de ti. Responde LISTO para terminar. Responde PARAR otra "
              "vez para no recibir más mensajes: no podríamos preguntarte cómo estás y, si "
              "no respondes, enviaríamos apoyo.",
    },
    # ...then YES...
    "cancelled": {
        "en": "Your request for help is cancelled. We are not sending anyone. If you need help "
              "again, text what is happening and where.",
        "es": "Cancelamos tu solicitud de ayuda. No vamos a enviar a nadie. Si necesitas ayuda "
              "otra vez, escribe qué pasa y dónde.",
    },
    "not_cancelled": {
        "en": "A responder is with you now, so we could not cancel. Tell them if you do not "
              "need help.",
        "es": "Una persona de apoyo está contigo ahora, así que no pudimos cancelar. Dile si "
              "no necesitas ayuda.",
    },
    # ...or a second STOP: no more texts, and what is still open.
    "stop_open": {
        "en": "{org}: you will get no more texts from us. Your request for help is still open "
              "and someone may still come: to cancel it, use your tracking link. Reply START "
              "to get texts again.",
        "es": "{org}: no te enviaremos más mensajes. Tu solicitud de ayuda sigue abierta y "
              "alguien puede llegar: para cancelarla, usa tu enlace de seguimiento. Responde "
              "INICIO para volver a recibirlos.",
    },
    "stop_on_scene": {
        "en": "{org}: you will get no more texts from us. Your request for help is still open: "
              "a responder is with you. Reply START to get texts again.",
        "es": "{org}: no te enviaremos más mensajes. Tu solicitud de ayuda sigue abierta: una "
              "persona de apoyo está contigo. Responde INICIO para volver a recibirlos.",
    },
    "stop_checkin": {
        "en": "{org}: you will get no more texts from us. Your check-in is still on, and we "
              "send responders if a check is missed: end it with the link we sent when it "
              "started. Reply START to get texts again.",
        "es": "{org}: no te enviaremos más mensajes. Seguimos pendientes de ti y, si no "
              "respondes, enviaremos apoyo: para terminar, usa el enlace que te enviamos al "
              "empezar. Responde INICIO para volver a recibirlos.",
    },
}
WHAT: dict[Kind, dict[str, str]] = {
    Kind.OVERDOSE: {"en": "an overdose", "es": "una sobredosis"},
    Kind.MENTAL_HEALTH: {"en": "a mental health crisis", "es": "una crisis de salud mental"},
    Kind.MEDICAL: {"en": "someone hurt or sick", "es": "una persona herida o enferma"},
    Kind.WELFARE_CHECK: {"en": "a check on someone", "es": "ver cómo está alguien"},
    Kind.CONFLICT: {"en": "a conflict", "es": "un conflicto"},
    Kind.OTHER: {"en": "your request", "es": "tu solicitud"},
}


def say(lang: str, *keys: str, what: str = "", place: str = "", org: str = "") -> str:
    """One SMS from message parts, cut to fit: only the echoed place is shortened."""
    template = " ".join(MESSAGES[key][lang] for key in keys)
    room = MAX_REPLY - len(template.format(what=what, place="", org=org))
    echo = " ".join(place.split()) or "?"
    if len(echo) > room:
        echo = echo[: max(room - 3, 0)].rstrip() + "..."
    return template.format(what=what, place=echo, org=org)
