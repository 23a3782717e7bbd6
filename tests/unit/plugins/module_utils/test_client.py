# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The shared HTTP client against a real local HTTP(S) server (no mock of open_url)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import os
import socket
import time
from email.utils import formatdate

import pytest

from ansible_collections.dss.apinode.plugins.module_utils._client import (
    MASK,
    ApiNodeClient,
    ApiNodeConnectionError,
    ApiNodeError,
    parse_retry_after,
    path,
)
from ansible_collections.dss.apinode.tests.unit.plugins.module_utils.http_test_server import (
    HttpTestServer,
    PrefixStrippingProxy,
    TlsMaterial,
)

ADMIN_KEY = 'adminKey-Zx81qPq0'
JAVA_ERROR = {
    'errorType': 'java.lang.IllegalArgumentException',
    'message': 'Service already exists: CHURN',
    'detailedMessage': 'Service already exists: CHURN (while creating it)',
    'detailedMessageHTML': 'Service already exists: CHURN',
    'stackTrace': [],
    'code': 'ERR_APINODE_SERVICE_UNKNOWN',
}


class Recorder:
    """Collects what the client warns and how long it would have slept."""

    def __init__(self):
        self.warnings = []
        self.sleeps = []


@pytest.fixture
def recorder():
    return Recorder()


@pytest.fixture
def make_client(recorder):
    def factory(url, **kwargs):
        kwargs.setdefault('api_key', ADMIN_KEY)
        kwargs.setdefault('timeout', 10)
        return ApiNodeClient(url, warn=recorder.warnings.append, sleep=recorder.sleeps.append, **kwargs)
    return factory


@pytest.fixture
def client(server, make_client):
    return make_client(server.url)


@pytest.fixture(scope='module')
def tls():
    return TlsMaterial()


@pytest.fixture
def tls_paths(tls, tmp_path):
    return tls.write(str(tmp_path))


def closed_port_url():
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return 'http://127.0.0.1:%d' % port


# -- what goes on the wire -------------------------------------------------------------------

def test_basic_auth_uses_the_key_as_user_with_an_empty_password_pre_emptively(server, client):
    server.respond(200, {'services': []})
    assert client.get('services') == {'services': []}
    assert len(server.requests) == 1  # no 401 challenge round trip: the header is sent at once
    header = server.requests[0].headers['authorization']
    scheme, encoded = header.split(' ', 1)
    assert scheme == 'Basic'
    assert base64.b64decode(encoded).decode('ascii') == ADMIN_KEY + ':'


def test_admin_paths_are_relative_to_the_admin_api(server, client):
    server.respond(200, [])
    client.get('services')
    assert server.requests[0].method == 'GET'
    assert server.requests[0].raw_path == '/admin/api/services'
    assert server.requests[0].headers['accept'] == 'application/json'


def test_a_trailing_slash_on_the_base_url_is_ignored(server, make_client):
    server.respond(200, {})
    make_client(server.url + '/').get('services')
    assert server.requests[0].raw_path == '/admin/api/services'


def test_redirects_are_not_followed(server, client):
    # A redirect would re-send the admin key to another place; it is reported instead.
    server.respond(302, headers={'Location': 'http://127.0.0.1:9/elsewhere'})
    with pytest.raises(ApiNodeError) as info:
        client.get('services')
    assert info.value.status == 302
    assert not isinstance(info.value, ApiNodeConnectionError)
    assert len(server.requests) == 1


def test_absolute_paths_start_at_the_root_and_can_go_without_auth(server, client):
    server.respond(200, 'OK')
    resp = client.request('GET', '/isAlive/', auth=False)
    assert resp.status == 200
    assert server.requests[0].raw_path == '/isAlive/'
    assert 'authorization' not in server.requests[0].headers


def test_credentials_replace_the_admin_authorization(server, client):
    server.respond(200, {})
    client.request('GET', '/public/api/v1/svc/ep/run', credentials='Bearer user-token')
    assert server.requests[0].headers['authorization'] == 'Bearer user-token'


def test_json_body_is_sent_with_a_json_content_type(server, client):
    server.respond(200, {'id': 'churn'})
    assert client.post('services', body={'id': 'churn', 'enabled': False}) == {'id': 'churn'}
    received = server.requests[0]
    assert received.method == 'POST'
    assert received.headers['content-type'] == 'application/json'
    assert received.json() == {'id': 'churn', 'enabled': False}


def test_request_without_body_has_no_content_type(server, client):
    server.respond(200, {})
    client.get('services')
    assert 'content-type' not in server.requests[0].headers
    assert server.requests[0].body == b''


def test_query_encodes_booleans_as_words_and_drops_none(server, client):
    server.respond(200, {})
    client.post('services', query={'ignoreIfExists': True, 'preload': False, 'unset': None, 'text': 'a b&c=d'})
    assert server.requests[0].query == {'ignoreIfExists': 'true', 'preload': 'false', 'text': 'a b&c=d'}


def test_path_quotes_each_segment_so_ids_stay_one_segment(server, client):
    rel = path('services', 'churn.v2', 'generations', 'v1/with space?x')
    assert rel == 'services/churn.v2/generations/v1%2Fwith%20space%3Fx'
    server.respond(200, {})
    client.get(rel)
    received = server.requests[0]
    assert received.raw_path == '/admin/api/services/churn.v2/generations/v1%2Fwith%20space%3Fx'
    assert received.segments[-1] == 'v1/with space?x'
    assert received.query == {}


def test_delete_sends_a_delete(server, client):
    server.respond(204)
    assert client.delete(path('services', 'churn')) is None
    assert server.requests[0].method == 'DELETE'
    assert server.requests[0].raw_path == '/admin/api/services/churn'


def test_responses_are_parsed_leniently(server, client):
    server.respond(200, {'known': 1, 'unknownField': [1, 2]}, headers={'X-Extra': 'yes'})
    server.respond(200)
    server.respond(200, 'plain text answer')
    first = client.request('GET', 'a')
    assert first.body == {'known': 1, 'unknownField': [1, 2]}
    assert first.headers['x-extra'] == 'yes'
    assert client.last_headers['x-extra'] == 'yes'
    assert client.get('b') is None
    assert client.get('c') == {'message': 'plain text answer'}


def test_request_count_and_calls_record_every_attempt(server, client):
    server.respond(200, {}).respond(503, times=1).respond(200, {}).respond(404)
    client.get('one')
    client.get('two')  # one retry: two attempts
    with pytest.raises(ApiNodeError):
        client.delete('three')
    assert client.request_count == 4
    assert [(c['method'], c['url'], c['status']) for c in client.calls] == [
        ('GET', server.url + '/admin/api/one', 200),
        ('GET', server.url + '/admin/api/two', 503),
        ('GET', server.url + '/admin/api/two', 200),
        ('DELETE', server.url + '/admin/api/three', 404),
    ]


def test_multipart_upload_streams_the_exact_file_bytes_as_the_file_field(server, client, tmp_path):
    package = tmp_path / 'v3.zip'
    content = os.urandom(200 * 1024) + b'\r\n--not-a-boundary\r\n' + bytes(range(256))
    package.write_bytes(content)
    server.respond(200, {'id': 'v3'})
    result = client.upload(path('services', 'churn', 'generations', 'actions', 'importFromStream'), str(package))
    assert result == {'id': 'v3'}
    received = server.requests[0]
    assert received.method == 'POST'
    assert received.headers['content-type'].startswith('multipart/form-data; boundary=')
    assert int(received.headers['content-length']) == len(received.body)
    assert 'authorization' in received.headers
    assert received.multipart() == [('file', 'v3.zip', content)]


def test_upload_is_never_retried(server, client, recorder, tmp_path):
    package = tmp_path / 'v1.zip'
    package.write_bytes(b'PK\x03\x04 zip bytes')
    server.respond(503)
    with pytest.raises(ApiNodeError) as info:
        client.upload('services/s/generations/actions/importFromStream', str(package))
    assert info.value.status == 503
    assert len(server.requests) == 1
    assert recorder.sleeps == []


# -- retries -------------------------------------------------------------------------------

@pytest.mark.parametrize('status', [502, 503, 504])
def test_get_is_retried_on_gateway_errors_then_succeeds(server, client, recorder, status):
    server.respond(status, times=2).respond(200, {'ok': True})
    assert client.get('services') == {'ok': True}
    assert len(server.requests) == 3
    assert recorder.sleeps == [1.0, 2.0]
    assert len(recorder.warnings) == 2
    assert 'HTTP %d' % status in recorder.warnings[0]
    assert 'retrying in 1.0 s (attempt 2 of 4)' in recorder.warnings[0]
    assert 'retrying in 2.0 s (attempt 3 of 4)' in recorder.warnings[1]


def test_get_gives_up_after_the_retries_with_backoff_1_2_4(server, client, recorder):
    server.respond(503, {'errorType': 'EndpointUnavailable', 'message': 'busy'}, times=4)
    with pytest.raises(ApiNodeError) as info:
        client.get('services')
    assert info.value.status == 503
    assert len(server.requests) == 4
    assert client.request_count == 4
    assert recorder.sleeps == [1.0, 2.0, 4.0]
    assert len(recorder.warnings) == 3
    assert server.pending == 0


def test_backoff_and_retries_are_configurable(server, make_client, recorder):
    client = make_client(server.url, retries=2, backoff=0.5)
    server.respond(502, times=3)
    with pytest.raises(ApiNodeError):
        client.get('services')
    assert len(server.requests) == 3
    assert recorder.sleeps == [0.5, 1.0]


def test_no_retry_when_retries_is_zero(server, make_client, recorder):
    client = make_client(server.url, retries=0)
    server.respond(503)
    with pytest.raises(ApiNodeError):
        client.get('services')
    assert len(server.requests) == 1
    assert recorder.sleeps == [] and recorder.warnings == []


@pytest.mark.parametrize('method', ['POST', 'DELETE'])
def test_unsafe_methods_are_not_retried_by_default(server, client, recorder, method):
    server.respond(503).respond(200, {})
    with pytest.raises(ApiNodeError) as info:
        client.request(method, 'services/churn/actions/enable')
    assert info.value.status == 503
    assert len(server.requests) == 1
    assert server.pending == 1
    assert recorder.sleeps == [] and recorder.warnings == []


@pytest.mark.parametrize('call', ['post', 'delete'])
def test_unsafe_methods_are_retried_when_declared_safe(server, client, recorder, call):
    server.respond(504).respond(200, {'done': True})
    assert getattr(client, call)('services/churn', retry_safe=True) == {'done': True}
    assert len(server.requests) == 2
    assert recorder.sleeps == [1.0]
    assert len(recorder.warnings) == 1


def test_get_declared_unsafe_is_not_retried(server, client, recorder):
    server.respond(503)
    with pytest.raises(ApiNodeError):
        client.request('GET', 'services', retry_safe=False)
    assert len(server.requests) == 1


@pytest.mark.parametrize('status', [400, 401, 403, 404, 409, 500])
def test_client_errors_and_500_are_never_retried(server, client, recorder, status):
    server.respond(status, {'errorType': 'X', 'message': 'no'}).respond(200, {})
    with pytest.raises(ApiNodeError) as info:
        client.get('services')
    assert info.value.status == status
    assert len(server.requests) == 1
    assert recorder.sleeps == []


def test_get_is_retried_after_a_dropped_connection(server, client, recorder):
    server.drop().respond(200, {'ok': 1})
    assert client.get('services') == {'ok': 1}
    assert len(server.requests) == 2
    assert recorder.sleeps == [1.0]
    assert 'Cannot reach the API node' in recorder.warnings[0]


def test_post_is_not_retried_after_a_dropped_connection(server, client, recorder):
    server.drop().respond(200, {})
    with pytest.raises(ApiNodeConnectionError) as info:
        client.post('services/churn/actions/disable')
    assert info.value.status is None
    assert server.url + '/admin/api/services/churn/actions/disable' in info.value.msg
    assert len(server.requests) == 1
    assert recorder.sleeps == []


def test_get_is_retried_when_the_connection_is_refused(make_client, recorder):
    url = closed_port_url()
    client = make_client(url)
    with pytest.raises(ApiNodeConnectionError):
        client.get('services')
    assert client.request_count == 4
    assert recorder.sleeps == [1.0, 2.0, 4.0]


def test_expected_error_statuses_are_returned_not_raised(server, client):
    server.respond(404, JAVA_ERROR)
    resp = client.request('GET', 'services/nope', expect_error_statuses=(404,))
    assert resp.status == 404
    assert resp.body['errorType'] == JAVA_ERROR['errorType']
    assert client.calls[-1]['status'] == 404


# -- error translation ------------------------------------------------------------------------

def test_java_error_becomes_type_and_detailed_message(server, client):
    server.respond(400, JAVA_ERROR)
    with pytest.raises(ApiNodeError) as info:
        client.post('services', body={'id': 'CHURN'})
    err = info.value
    url = server.url + '/admin/api/services'
    assert err.msg == ('POST %s failed with HTTP 400: java.lang.IllegalArgumentException: '
                       'Service already exists: CHURN (while creating it)' % url)
    assert str(err) == err.msg
    assert not isinstance(err, ApiNodeConnectionError)
    assert (err.status, err.error_type, err.message, err.detailed_message, err.method, err.url) == (
        400, 'java.lang.IllegalArgumentException', 'Service already exists: CHURN',
        'Service already exists: CHURN (while creating it)', 'POST', url)
    assert err.body['code'] == 'ERR_APINODE_SERVICE_UNKNOWN'
    assert err.as_dict() == dict(status=400, error_type='java.lang.IllegalArgumentException',
                                 message='Service already exists: CHURN',
                                 detailed_message='Service already exists: CHURN (while creating it)',
                                 method='POST', url=url)


def test_error_without_detailed_message_falls_back_to_message(server, client):
    server.respond(404, {'errorType': 'com.dataiku.dip.exceptions.NotFoundException', 'message': 'Service not found: x'})
    with pytest.raises(ApiNodeError) as info:
        client.get('services/x')
    assert info.value.msg.endswith('HTTP 404: com.dataiku.dip.exceptions.NotFoundException: Service not found: x')
    assert info.value.detailed_message == 'Service not found: x'


def test_non_json_error_body_is_shown_as_text(server, client):
    server.respond(502, '<html><body>Bad Gateway from the proxy</body></html>')
    with pytest.raises(ApiNodeError) as info:
        client.request('GET', 'services', retry_safe=False)
    err = info.value
    assert err.status == 502
    assert err.error_type is None
    assert 'HTTP 502: <html><body>Bad Gateway from the proxy</body></html>' in err.msg
    assert 'error_type' not in err.as_dict()


def test_long_non_json_error_body_is_cut(server, client):
    server.respond(500, 'x' * 5000)
    with pytest.raises(ApiNodeError) as info:
        client.get('services')
    assert len(info.value.detailed_message) <= 2000
    assert len(info.value.msg) < 2500


def test_empty_error_body_says_so(server, client):
    server.respond(404)
    with pytest.raises(ApiNodeError) as info:
        client.get('services/x')
    assert info.value.msg == 'GET %s/admin/api/services/x failed with HTTP 404: no error message in the response' % server.url
    assert info.value.body is None


def test_401_hints_at_the_admin_key_without_showing_it(server, client):
    server.respond(401, {'errorType': 'com.dataiku.dip.exceptions.NotAuthenticatedException',
                         'message': 'Invalid key %s' % ADMIN_KEY})
    with pytest.raises(ApiNodeError) as info:
        client.get('services')
    err = info.value
    assert err.status == 401
    assert err.msg.endswith('(check the admin API key)')
    assert ADMIN_KEY not in err.msg and ADMIN_KEY not in err.message and ADMIN_KEY not in err.detailed_message
    assert MASK in err.msg


def test_403_has_no_key_hint(server, client):
    server.respond(403, {'errorType': 'java.lang.SecurityException', 'message': 'denied'})
    with pytest.raises(ApiNodeError) as info:
        client.get('services')
    assert 'check the admin API key' not in info.value.msg


# -- secrets -----------------------------------------------------------------------------------

def test_added_secrets_are_scrubbed_from_messages_and_call_records(server, client):
    user_key = 'userKey/with+odd chars'
    client.add_secret(user_key)
    client.add_secret(None)  # ignored
    server.respond(404, {'errorType': 'NotFound', 'message': 'Key to delete not found: %s' % user_key})
    with pytest.raises(ApiNodeError) as info:
        client.delete(path('services', 'churn', 'keys', user_key), query={'key': user_key})
    # The request really carried the secret; only what the client shows is masked.
    assert server.requests[0].segments[-1] == user_key
    assert server.requests[0].query == {'key': user_key}
    shown = [info.value.msg, info.value.url, info.value.message, info.value.detailed_message,
             repr(info.value.as_dict()), repr(client.calls)]
    for text in shown:
        assert user_key not in text
        assert 'userKey%2Fwith%2Bodd%20chars' not in text
        assert 'userKey%2Fwith%2Bodd+chars' not in text
    assert MASK in info.value.msg and MASK in client.calls[0]['url']


def test_the_admin_key_never_appears_in_connection_errors(make_client):
    client = make_client(closed_port_url(), retries=0)
    with pytest.raises(ApiNodeConnectionError) as info:
        client.get(path('keys', ADMIN_KEY))
    assert ADMIN_KEY not in info.value.msg
    assert ADMIN_KEY not in repr(client.calls)


# -- connection failures -----------------------------------------------------------------------

def test_connection_refused_names_the_url(make_client):
    url = closed_port_url()
    client = make_client(url, retries=0)
    with pytest.raises(ApiNodeConnectionError) as info:
        client.get('services')
    err = info.value
    assert err.msg.startswith('Cannot reach the API node: GET %s/admin/api/services: ' % url)
    assert 'connection refused by %s' % url.split('//')[1] in err.msg
    assert err.url == url + '/admin/api/services' and err.method == 'GET' and err.status is None
    assert client.calls[0]['status'] is None


def test_dns_failure_names_the_host(make_client):
    client = make_client('http://apinode-missing.invalid:12000', retries=0)
    with pytest.raises(ApiNodeConnectionError) as info:
        client.get('services')
    assert 'http://apinode-missing.invalid:12000/admin/api/services' in info.value.msg
    assert 'cannot resolve host name apinode-missing.invalid' in info.value.msg


def test_timeout_says_how_long_it_waited(server, make_client, recorder):
    client = make_client(server.url, timeout=0.3, retries=0)
    server.slow(seconds=30, body={'late': True})
    with pytest.raises(ApiNodeConnectionError) as info:
        client.get('services')
    assert info.value.msg == ('Cannot reach the API node: GET %s/admin/api/services: '
                              'no answer within 0.3 seconds (timeout)' % server.url)
    assert len(server.requests) == 1


def test_timeout_on_get_is_retried(server, recorder):
    def sleep(seconds):
        recorder.sleeps.append(seconds)
        client.timeout = 30  # the retry must not depend on how fast a loaded machine answers

    client = ApiNodeClient(server.url, api_key=ADMIN_KEY, timeout=0.3, retries=1,
                           warn=recorder.warnings.append, sleep=sleep)
    server.slow(seconds=30).respond(200, {'ok': True})
    assert client.get('services') == {'ok': True}
    assert len(server.requests) == 2
    assert recorder.sleeps == [1.0]
    assert 'no answer within 0.3 seconds (timeout)' in recorder.warnings[0]


def test_dns_failure_is_not_retried(make_client, recorder):
    # A retry cannot make an unknown host resolvable; failing at once saves the backoff.
    client = make_client('http://apinode-missing.invalid:12000', retries=3)
    with pytest.raises(ApiNodeConnectionError) as info:
        client.get('services')
    assert info.value.retryable is False
    assert client.request_count == 1 and recorder.sleeps == []


# -- TLS ---------------------------------------------------------------------------------------

@pytest.fixture
def tls_server(tls):
    with HttpTestServer(ssl_context=tls.server_context()) as srv:
        yield srv


@pytest.fixture
def mtls_server(tls):
    with HttpTestServer(ssl_context=tls.server_context(require_client_cert=True)) as srv:
        yield srv


def test_untrusted_certificate_fails_when_validating(tls_server, make_client):
    client = make_client(tls_server.url, retries=0)
    with pytest.raises(ApiNodeConnectionError) as info:
        client.get('services')
    msg = info.value.msg
    assert msg.startswith('Cannot reach the API node: GET %s/admin/api/services: TLS handshake failed' % tls_server.url)
    assert 'validate_certs' in msg and 'ca_path' in msg
    assert tls_server.requests == []


def test_certificate_failure_is_not_retried(tls_server, make_client, recorder):
    client = make_client(tls_server.url, retries=3)
    with pytest.raises(ApiNodeConnectionError):
        client.get('services')
    assert client.request_count == 1 and recorder.sleeps == []


def test_validation_is_on_by_default():
    assert ApiNodeClient('https://node:12000').validate_certs is True


def test_ca_path_makes_the_certificate_trusted(tls_server, make_client, tls_paths):
    tls_server.respond(200, {'secure': True})
    client = make_client(tls_server.url, ca_path=tls_paths['ca_path'])
    assert client.get('services') == {'secure': True}
    assert tls_server.requests[0].headers['authorization'].startswith('Basic ')


def test_validate_certs_false_accepts_any_certificate(tls_server, make_client):
    tls_server.respond(200, {'secure': 'not checked'})
    client = make_client(tls_server.url, validate_certs=False)
    assert client.get('services') == {'secure': 'not checked'}


def test_client_certificate_is_presented_for_mutual_tls(mtls_server, make_client, tls_paths):
    mtls_server.respond(200, {'mtls': True})
    client = make_client(mtls_server.url, ca_path=tls_paths['ca_path'],
                         client_cert=tls_paths['client_cert'], client_key=tls_paths['client_key'])
    assert client.get('services') == {'mtls': True}
    peer = mtls_server.requests[0].peer_cert
    assert peer is not None
    names = [value for entry in peer.get('subjectAltName', ()) for value in entry]
    assert 'ansible-client@example.org' in names


def test_mutual_tls_without_a_client_certificate_fails(mtls_server, make_client, tls_paths):
    mtls_server.respond(200, {'mtls': True})
    client = make_client(mtls_server.url, ca_path=tls_paths['ca_path'], retries=0)
    with pytest.raises(ApiNodeConnectionError) as info:
        client.get('services')
    assert info.value.msg.startswith('Cannot reach the API node: GET %s/admin/api/services: ' % mtls_server.url)
    assert mtls_server.requests == []
    assert mtls_server.pending == 1


# -- 429 and Retry-After -------------------------------------------------------------------------

class FakeTime:
    """A clock that only the client's sleeps move forward."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self):
        return self.now


def test_429_is_retried_like_503_on_reads(server, client, recorder):
    server.respond(429, {'message': 'slow down'}).respond(200, {'ok': True})
    assert client.get('services') == {'ok': True}
    assert len(server.requests) == 2
    assert recorder.sleeps == [1.0]
    assert 'HTTP 429' in recorder.warnings[0] and 'retrying in 1.0 s' in recorder.warnings[0]


def test_429_on_a_change_is_not_repeated_and_says_why(server, client, recorder):
    server.respond(429, headers={'Retry-After': '1'}).respond(200, {})
    with pytest.raises(ApiNodeError) as info:
        client.post('services/churn/actions/enable')
    assert info.value.status == 429
    assert 'too many requests' in info.value.msg
    assert len(server.requests) == 1 and recorder.sleeps == []


@pytest.mark.parametrize('status', [429, 503])
def test_retry_after_seconds_is_waited_at_least(server, client, recorder, status):
    server.respond(status, headers={'Retry-After': '7'}).respond(200, {'ok': True})
    assert client.get('services') == {'ok': True}
    assert recorder.sleeps == [7.0]  # not the 1 s backoff
    assert 'retrying in 7.0 s (Retry-After: 7 s) (attempt 2 of 4)' in recorder.warnings[0]


def test_a_short_retry_after_does_not_shorten_the_backoff(server, client, recorder):
    server.respond(503).respond(503, headers={'Retry-After': '0'}).respond(200, {})
    client.get('services')
    assert recorder.sleeps == [1.0, 2.0]


def test_retry_after_as_an_http_date(server, client, recorder):
    later = formatdate(time.time() + 20, usegmt=True)
    server.respond(503, headers={'Retry-After': later}).respond(200, {})
    client.get('services')
    assert len(recorder.sleeps) == 1
    assert 10.0 <= recorder.sleeps[0] <= 21.0  # the date, seen from a moment later; never the 1 s backoff


def test_parse_retry_after():
    now = 1700000000.0
    assert parse_retry_after('30', now) == 30.0
    assert parse_retry_after(' 0 ', now) == 0.0
    assert parse_retry_after(formatdate(now + 45, usegmt=True), now) == 45.0
    assert parse_retry_after(formatdate(now - 45, usegmt=True), now) == 0.0  # already past
    assert parse_retry_after(None, now) is None
    assert parse_retry_after('', now) is None
    assert parse_retry_after('soon', now) is None
    assert parse_retry_after('-5', now) is None


def test_a_retry_after_beyond_the_time_budget_ends_the_retries(server, recorder):
    fake = FakeTime()
    client = ApiNodeClient(server.url, api_key=ADMIN_KEY, timeout=10, retries=3, warn=recorder.warnings.append,
                           sleep=fake.sleep, clock=fake.clock)
    assert client.time_budget() == 40.0
    server.respond(429, headers={'Retry-After': '41'}).respond(200, {})
    with pytest.raises(ApiNodeError) as info:
        client.get('services')
    assert info.value.status == 429
    assert 'not retried: waiting 41.0 s more (Retry-After: 41 s) would go past the time budget of 40 s' in info.value.msg
    assert str(info.value) == info.value.msg
    assert len(server.requests) == 1 and fake.sleeps == [] and recorder.warnings == []


def test_the_time_budget_counts_the_waits_already_made(server, recorder):
    fake = FakeTime()
    client = ApiNodeClient(server.url, api_key=ADMIN_KEY, timeout=10, retries=3, warn=recorder.warnings.append,
                           sleep=fake.sleep, clock=fake.clock)
    server.respond(503, headers={'Retry-After': '25'}).respond(503, headers={'Retry-After': '20'}).respond(200, {})
    with pytest.raises(ApiNodeError) as info:
        client.get('services')
    assert fake.sleeps == [25.0]  # 25 + 20 > 40
    assert 'time budget of 40 s' in info.value.msg
    assert len(server.requests) == 2


# -- proxies ---------------------------------------------------------------------------------

@pytest.fixture
def proxy():
    with HttpTestServer() as srv:
        yield srv


def test_proxy_variables_are_used_by_default(server, proxy, make_client, monkeypatch):
    monkeypatch.setenv('http_proxy', proxy.url)
    proxy.respond(200, {'via': 'proxy'})
    assert make_client(server.url).get('services') == {'via': 'proxy'}
    assert server.requests == []
    assert len(proxy.requests) == 1 and proxy.requests[0].raw_path == '/admin/api/services'
    assert proxy.requests[0].headers['authorization'].startswith('Basic ')  # what a plain-HTTP proxy sees


def test_use_proxy_false_connects_directly(server, proxy, make_client, monkeypatch):
    monkeypatch.setenv('http_proxy', proxy.url)
    server.respond(200, {'via': 'direct'})
    assert make_client(server.url, use_proxy=False).get('services') == {'via': 'direct'}
    assert proxy.requests == [] and len(server.requests) == 1


def test_no_proxy_bypasses_the_proxy_for_listed_hosts(server, proxy, make_client, monkeypatch):
    monkeypatch.setenv('http_proxy', proxy.url)
    monkeypatch.setenv('no_proxy', 'localhost,127.0.0.1')
    server.respond(200, {'via': 'direct'})
    assert make_client(server.url).get('services') == {'via': 'direct'}
    assert proxy.requests == []


# -- base URLs with a path prefix --------------------------------------------------------------

def test_every_kind_of_request_goes_under_the_path_prefix(server, make_client):
    server.respond(200, {'services': []}).respond(200, {'result': 1}).respond(200, {'alive': True})
    with PrefixStrippingProxy(server, '/apinode1') as ingress:
        client = make_client(ingress.url + '/')
        assert client.base_url == ingress.url
        assert client.get('services') == {'services': []}
        assert client.request('POST', '/public/api/v1/churn/predict/predict', body={'features': {}},
                              credentials='Bearer t').body == {'result': 1}
        assert client.request('GET', '/isAlive/', auth=False).status == 200
    assert ingress.seen == ['/apinode1/admin/api/services', '/apinode1/public/api/v1/churn/predict/predict',
                            '/apinode1/isAlive/']
    assert [r.raw_path for r in server.requests] == ['/admin/api/services', '/public/api/v1/churn/predict/predict',
                                                     '/isAlive/']
    assert client.calls[0]['url'] == ingress.url + '/admin/api/services'


def test_errors_name_the_prefixed_url(server, make_client):
    server.respond(404, {'message': 'Service not found: x'})
    with PrefixStrippingProxy(server, '/lb/apinode2') as ingress:
        with pytest.raises(ApiNodeError) as info:
            make_client(ingress.url).get('services/x')
    assert info.value.url == ingress.url + '/admin/api/services/x'
    assert info.value.msg.startswith('GET %s/admin/api/services/x failed with HTTP 404' % ingress.url)


# -- user-info in URLs -----------------------------------------------------------------------------

def test_a_password_in_the_base_url_is_masked_in_every_printed_url(make_client):
    port = closed_port_url().rsplit(':', 1)[1]
    client = make_client('http://gw:S3cretPw@127.0.0.1:%s' % port, retries=0)
    with pytest.raises(ApiNodeConnectionError) as info:
        client.get('services')
    shown = [info.value.msg, info.value.url, repr(info.value.as_dict()), repr(client.calls)]
    for text in shown:
        assert 'S3cretPw' not in text
    assert 'http://gw:****@127.0.0.1:%s/admin/api/services' % port in info.value.msg
    assert client.calls[0]['url'] == 'http://gw:****@127.0.0.1:%s/admin/api/services' % port
