"""HTTP plumbing shared by the services' nameko `http` entrypoints: JSON answers and API keys."""

import json

from werkzeug.wrappers import Response

from .ingest import MAX_BODY_BYTES, problem
from .secrets_compare import any_secret


def json_response(status, body, headers=None):
    return Response(json.dumps(body, ensure_ascii=False, sort_keys=True), status=status,
                    mimetype="application/json", headers=headers)


def answer(result):
    return json_response(result.status, result.body)


def key_is_valid(request, keys):
    """Wrong, missing or undecodable (a non-ASCII byte) is simply not valid: 401, never a 500."""
    return any_secret(request.headers.get("X-API-Key", ""), keys)


def unauthorised():
    return answer(problem(401, "unauthorised", "missing or wrong X-API-Key"))


def read_body(request):
    """The raw body, or None when it is over the limit (the caller answers 413).

    A chunked body (Transfer-Encoding: chunked, no Content-Length) is read too, with the same limit:
    werkzeug hands out an empty stream for it unless the server says it ends the input itself
    (`wsgi.input_terminated`), which eventlet's server does not, though its input decodes the chunks."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return None
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        stream = request.environ["wsgi.input"]
    else:
        stream = request.stream
    data = bytearray()
    while len(data) <= MAX_BODY_BYTES:
        piece = stream.read(MAX_BODY_BYTES + 1 - len(data))
        if not piece:
            break
        data += piece
    return None if len(data) > MAX_BODY_BYTES else bytes(data)
