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
      - Base URL of the API node, C(http(s)://host[:port]), without a path.
      - The admin API is reached under C(<url>/admin/api).
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
        HTTP 502, 503 or 504, with exponential backoff (1, 2, 4... seconds) and a warning each time.
      - Reads are safe to repeat. Changes such as enable, disable or import are never repeated
        blindly, because the node answers 400 when they are repeated; the modules read the state again instead.
      - Client errors (4xx) are never retried.
    type: int
    default: 3
notes:
  - The modules talk to the node with the Python standard library through C(ansible.module_utils.urls);
    nothing needs to be installed on the managed node or in the execution environment.
  - Every module returns C(api_calls), the number of HTTP requests the run made.
'''
