"""Java-style error bodies, shaped like the API node's serialized errors (Gson, nulls omitted).

Every failure raised by a handler is an ApiError; the server turns it into the JSON body and status.
The Java class names below are the ones the real node reports where known; the names of the
Dataiku-internal classes (NotAuthenticatedException, MalformedRequestException, ...) are INFERRED.
"""

ILLEGAL_ARGUMENT = "java.lang.IllegalArgumentException"
NOT_AUTHENTICATED = "com.dataiku.dip.exceptions.NotAuthenticatedException"
MALFORMED_REQUEST = "com.dataiku.dip.exceptions.MalformedRequestException"
NOT_FOUND = "com.dataiku.dip.exceptions.NotFoundException"
METHOD_NOT_SUPPORTED = "org.springframework.web.HttpRequestMethodNotSupportedException"
API_ILLEGAL_ARGUMENT = "com.dataiku.dip.exceptions.APIIllegalArgumentException"
ENDPOINT_UNAVAILABLE = "com.dataiku.lambda.EndpointUnavailableException"
RUNTIME = "java.lang.RuntimeException"
ZIP = "java.util.zip.ZipException"


class ApiError(Exception):
    """An error answered to the client: HTTP status + Java-style body."""

    def __init__(self, status, message, error_type=ILLEGAL_ARGUMENT, code=None, title=None, fixability=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_type = error_type
        self.code = code
        self.title = title
        self.fixability = fixability

    def body(self):
        body = {
            "errorType": self.error_type,
            "message": self.message,
            "detailedMessage": self.message,
            "detailedMessageHTML": _html_escape(self.message),
            "stackTrace": [],
        }
        for key, value in (("code", self.code), ("title", self.title), ("fixability", self.fixability)):
            if value is not None:
                body[key] = value
        return body


def _html_escape(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def bad_request(message, **kwargs):
    """IllegalArgumentException (also commons Validate failures) -> 400."""
    return ApiError(400, message, ILLEGAL_ARGUMENT, **kwargs)


def malformed(what):
    """An unparseable request body -> 400, with the node's wording."""
    return ApiError(400, "Could not parse a %s from request body" % what, MALFORMED_REQUEST)


def not_authenticated(message):
    return ApiError(401, message, NOT_AUTHENTICATED)


def not_found(message):
    return ApiError(404, message, NOT_FOUND)


def method_not_allowed(method):
    return ApiError(405, "Request method '%s' not supported" % method, METHOD_NOT_SUPPORTED)


def internal(message, error_type=RUNTIME, **kwargs):
    """Anything the node does not map explicitly -> 500."""
    return ApiError(500, message, error_type, **kwargs)
