# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # Connection options shared by every module (declared in module_utils/_common.py).
    DOCUMENTATION = r'''
options:
  url:
    description:
      - Base URL of the API node, C(http(s)://host[:port]), optionally with the path prefix under which a
        reverse proxy or an ingress publishes the node, for example C(https://lb.example.com/apinode1).
      - The admin API is reached under C(<url>/admin/api/), the user API under C(<url>/public/api/v1/) and
        the health probe at C(<url>/isAlive/). A URL that already ends with one of these paths is refused.
      - A user name or password in the URL (C(http://user:password@host)) is refused, with a message that
        does not show it; give the admin key in O(api_key).
      - If not set, the value of the E(DATAIKU_APINODE_URL) environment variable is used.
      - Required, as an option or through the environment.
    type: str
  api_key:
    description:
      - Admin API key of the node, sent with HTTP Basic authentication as the user name with an empty password.
      - Create the first one on the node with C(bin/apinode-admin admin-key-create) (see the key bootstrap guide).
      - If not set, the value of the E(DATAIKU_APINODE_API_KEY) environment variable is used.
      - Required, as an option or through the environment. Never logged.
    type: str
  validate_certs:
    description:
      - Whether to verify the node's TLS certificate.
      - Only set to V(false) on a trusted network with self-signed certificates; prefer O(ca_path).
      - If not set, the value of the E(DATAIKU_APINODE_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the certificate authorities to trust for the node's certificate.
      - If not set, the value of the E(DATAIKU_APINODE_CA_PATH) environment variable is used.
    type: path
  client_cert:
    description:
      - PEM client certificate, for nodes that require mutual TLS.
      - Requires O(client_key).
    type: path
  client_key:
    description:
      - PEM private key of O(client_cert).
      - Requires O(client_cert).
    type: path
  timeout:
    description:
      - Seconds to wait for each answer of the node.
      - If not set, the value of the E(DATAIKU_APINODE_TIMEOUT) environment variable is used.
    type: int
    default: 30
  retries:
    description:
      - How many times a request that is safe to repeat is retried after a connection failure or an
        HTTP 429, 502, 503 or 504, with exponential backoff (1, 2, 4... seconds) and a warning each time.
      - When the answer has a C(Retry-After) header (seconds or an HTTP date), the wait is at least that long.
        A C(Retry-After) that would take the request past its time budget, O(timeout) x (O(retries) + 1)
        seconds from its first attempt, ends the retries with an error instead of waiting.
      - Reads are safe to repeat. Changes such as enable, disable or import are never repeated
        blindly, because the node answers 400 when they are repeated; the modules read the state again instead.
      - Client errors (4xx) are never retried.
    type: int
    default: 3
  use_proxy:
    description:
      - Whether to send the requests through the HTTP proxy named by the proxy environment variables of
        the host where the module runs (C(http_proxy), C(https_proxy), C(no_proxy), upper or lower case),
        as M(ansible.builtin.uri) does.
      - Through a proxy, a plain C(http://) request, with its C(Authorization) header holding the admin
        key, is readable by the proxy; an C(https://) request is tunnelled (C(CONNECT)) and stays encrypted.
      - C(no_proxy) lists the host names (a leading dot or none matches the sub-domains too, C(*) matches
        every host) and C(host:port) pairs that bypass the proxy. Python does not read IP ranges (CIDR) in it.
      - Set V(false) to always connect to the node directly, whatever the environment says.
      - If not set, the value of the E(DATAIKU_APINODE_USE_PROXY) environment variable is used.
    type: bool
    default: true
notes:
  - The modules talk to the node with the Python standard library through C(ansible.module_utils.urls);
    nothing needs to be installed on the managed node or in the execution environment.
  - Every module returns C(api_calls), the number of HTTP requests the run made.
'''
