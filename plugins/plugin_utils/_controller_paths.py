# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Paths on the controller given to a lookup, found the way ansible.builtin.copy finds its src."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleLookupError


def flatten_once(terms):
    """lookup(name, [a, b]) and query(name, a, b) mean the same."""
    flat = []
    for term in terms:
        flat.extend(term if isinstance(term, (list, tuple)) else [term])
    return flat


def find_all(lookup, terms, variables, what):
    """The controller path of each term, searched in the role's and the play's files/ directories first."""
    found = []
    for term in flatten_once(terms):
        path = lookup.find_file_in_search_path(variables or {}, 'files', term, ignore_missing=True)
        if not path:
            raise AnsibleLookupError('%s %s was not found on the controller (a relative path is looked up in the '
                                     'files/ directories of the role and the play, then from the play).' % (what, term))
        found.append(path)
    return found


def read_each(lookup, terms, variables, options, what, read):
    """``read(path)`` for the controller path of each term; ``read`` raises AnsibleLookupError itself."""
    reject_options(options)
    return [read(path) for path in find_all(lookup, terms, variables, what)]


def reject_options(kwargs):
    """The lookups take no options: a misspelt keyword is an error, not silently ignored."""
    if kwargs:
        raise AnsibleLookupError('This lookup takes no options, got %s.' % ', '.join(sorted(kwargs)))
