# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every filter's documentation, with its doc fragments, names the options its function takes, and only those."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import inspect
import os

import pytest
import yaml

from ansible.utils.plugin_docs import add_fragments

from ansible_collections.dss.apinode.plugins.doc_fragments import play_hosts

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
FILTERS = sorted(name[:-3] for name in os.listdir(os.path.join(ROOT, 'plugins', 'filter'))
                 if name.endswith('.py') and not name.startswith('_'))
PLAY_HOSTS_OPTIONS = ('_input', 'hosts', 'result')
UNDOCUMENTED = {('report_path', 'cwd')}  # the working directory, given by the unit tests only


class Fragment(play_hosts.ModuleDocFragment):
    ansible_name = 'dss.apinode.play_hosts'


class FragmentLoader(object):
    """The collection's fragments, without a configured collection loader."""

    def get(self, name, *args, **kwargs):
        return Fragment if name == 'dss.apinode.play_hosts' else None


def rendered(name):
    module = importlib.import_module('ansible_collections.dss.apinode.plugins.filter.%s' % name)
    doc = yaml.safe_load(module.DOCUMENTATION)
    add_fragments(doc, module.__file__, FragmentLoader())
    function = module.FilterModule().filters()[name]
    return doc, function


@pytest.mark.parametrize('name', FILTERS)
def test_the_documented_options_are_the_function_arguments(name):
    doc, function = rendered(name)
    arguments = [a for a in list(inspect.signature(function).parameters)[1:] if (name, a) not in UNDOCUMENTED]
    assert set(doc['options']) == set(['_input'] + arguments)
    for option in doc['options'].values():
        assert option.get('type') and option.get('description'), option


@pytest.mark.parametrize('name', FILTERS)
def test_the_play_hosts_options_come_from_the_fragment_only(name):
    module = importlib.import_module('ansible_collections.dss.apinode.plugins.filter.%s' % name)
    doc = yaml.safe_load(module.DOCUMENTATION)
    extended = doc.get('extends_documentation_fragment') or []
    shared = {}
    for fragment in extended:
        shared.update(yaml.safe_load(getattr(Fragment, fragment.split('.')[-1].upper()
                                             if fragment != 'dss.apinode.play_hosts' else 'DOCUMENTATION'))['options'])
    for option, spec in (doc.get('options') or {}).items():
        if option in shared:
            # A filter may say what it reads differently, never change the option's type or default.
            assert set(spec) <= {'description'}, (name, option, spec)
        elif option in PLAY_HOSTS_OPTIONS and spec.get('description') == 'C(hostvars).':
            pytest.fail('%s repeats the option %s: extend dss.apinode.play_hosts' % (name, option))
