# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Node base URLs: what is accepted, and how a URL is shown.

A base URL is ``http(s)://host[:port]`` optionally followed by a path prefix, for nodes published
under a path by a reverse proxy or an ingress (``https://lb.example/apinode1``): the admin API is
then ``<base>/admin/api/``, the user API ``<base>/public/api/v1/`` and the health probe
``<base>/isAlive/``. Every URL the collection prints goes through ``mask_url`` first.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.six.moves.urllib.parse import urlsplit, urlunsplit

USER_INFO_MASK = '****'
# Paths of the node itself: a base URL that ends with one of them was given one level too deep.
NODE_PATHS = ('/admin/api', '/public/api', '/isAlive')


def _split(url):
    try:
        return urlsplit(url or '')
    except ValueError:  # e.g. an unbalanced '[' in the host part
        return None


def mask_url(url):
    """``url`` with the password of its user-info replaced by ``****`` (the user too when there is no password,
    since an admin key given as a user name is a secret). Anything that is not a URL is returned as is."""
    if not url or '@' not in url:
        return url
    parts = _split(url)
    if parts is None or '@' not in parts.netloc:
        return url
    user_info, host = parts.netloc.rsplit('@', 1)
    user, has_password, dummy = user_info.partition(':')
    shown = '%s:%s' % (user, USER_INFO_MASK) if has_password else USER_INFO_MASK
    return urlunsplit((parts.scheme, '%s@%s' % (shown, host), parts.path, parts.query, parts.fragment))


def user_info_secrets(url):
    """What to keep out of every output: the password of the URL's user-info, or its user when it has no password."""
    parts = _split(url)
    if parts is None or '@' not in parts.netloc:
        return []
    user, has_password, password = parts.netloc.rsplit('@', 1)[0].partition(':')
    secret = password if has_password else user
    return [secret] if secret else []


def url_problem(url, option='url'):
    """None when ``url`` is a usable node base URL, else one sentence saying what is wrong (never the password).

    Accepted: ``http(s)://host[:port][/prefix]``. Refused: another scheme or no host, user-info
    (``user:password@``), a query or fragment, and a path that already names the node's own API.
    """
    parts = _split(url)
    shown = mask_url(url)
    if parts is None or parts.scheme not in ('http', 'https') or not parts.hostname:
        return '%s must look like http(s)://host[:port][/path-prefix], got %r.' % (option, shown)
    if '@' in parts.netloc:
        return ('%s must not carry a user name or password (%s): give the admin key in api_key, and the credentials '
                'of an HTTP proxy in the proxy environment variables.' % (option, shown))
    try:
        parts.port
    except ValueError:
        return '%s has an invalid port, got %r.' % (option, shown)
    if parts.query or parts.fragment:
        return '%s must not have a query or a fragment, got %r.' % (option, shown)
    path = parts.path.rstrip('/')
    for node_path in NODE_PATHS:
        if (node_path + '/') in path + '/':
            return ('%s must be the node base URL (the part before %s/), got %r: the collection adds %s itself.'
                    % (option, node_path, shown, node_path))
    return None
