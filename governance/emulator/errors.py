"""The OpenAI API's error responses: one exception type and the exact error bodies the real API sends.

Every HTTP error the emulator returns goes through `ApiError`, so the body always has the real
shape `{"error": {"message", "type", "param", "code"}}` and the SDK maps the status code to the
same exception class it would for api.openai.com (400 -> BadRequestError, 404 -> NotFoundError...).
"""

from __future__ import annotations

import json
from typing import Any

INVALID_REQUEST = "invalid_request_error"


class ApiError(Exception):
    """An HTTP error response, raised anywhere in the emulator and rendered by the core."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = INVALID_REQUEST,
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def body_bytes(self) -> bytes:
        return json.dumps(self.body(), indent=2).encode()


def bad_request(message: str, *, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)


def missing_parameter(param: str) -> ApiError:
    return bad_request(f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")


def unknown_parameter(param: str) -> ApiError:
    return bad_request(f"Unknown parameter: '{param}'.", param=param, code="unknown_parameter")


_JSON_TYPE_NAMES = {
    bool: "a boolean",
    int: "an integer",
    float: "a decimal",
    str: "a string",
    list: "an array",
    dict: "an object",
    type(None): "null",
}


def json_type_name(value: Any) -> str:
    return _JSON_TYPE_NAMES.get(type(value), "an object")


def invalid_type(param: str, expected: str, value: Any) -> ApiError:
    return bad_request(
        f"Invalid type for '{param}': expected {expected}, but got {json_type_name(value)} instead.",
        param=param,
        code="invalid_type",
    )


def invalid_value(param: str, message: str) -> ApiError:
    return bad_request(message, param=param, code="invalid_value")


def invalid_json_body() -> ApiError:
    return bad_request(
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your"
        " HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid "
        "JSON. If you have trouble figuring out how to fix this, please contact us through our help "
        "center at help.openai.com.)"
    )


def previous_response_not_found(response_id: str) -> ApiError:
    return bad_request(
        f"Previous response with id '{response_id}' not found.",
        param="previous_response_id",
        code="previous_response_not_found",
    )


def response_not_found(response_id: str) -> ApiError:
    return ApiError(404, f"Response with id '{response_id}' not found.")


def item_not_persisted(item_id: str) -> ApiError:
    return ApiError(
        404,
        f"Item with id '{item_id}' not found. Items are not persisted when `store` is set to false. "
        "Try again with `store` set to true, or remove this item from your input.",
        param="input",
    )


def invalid_url(method: str, path: str) -> ApiError:
    return ApiError(404, f"Invalid URL ({method} {path})")


def missing_api_key() -> ApiError:
    return ApiError(
        401,
        "You didn't provide an API key. You need to provide your API key in an Authorization header using"
        " Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank "
        "username) if you're accessing the API from your browser and are prompted for a username and "
        "password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
    )


def invalid_api_key(key: str = "sk-emul*************line") -> ApiError:
    return ApiError(
        401,
        f"Incorrect API key provided: {key}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
        code="invalid_api_key",
    )


def server_error(request_id: str) -> ApiError:
    return ApiError(
        500,
        "The server had an error while processing your request. Sorry about that! You can retry your "
        "request, or contact us through our help center at help.openai.com if the error persists. (Please"
        f" include the request ID {request_id} in your message.)",
        type="server_error",
    )
