# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Content fingerprints and import markers (what apinode_cache relies on to be idempotent)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.dss.apinode.plugins.module_utils import _fingerprint as fp


def make_env(root):
    os.makedirs(os.path.join(root, 'spec'))
    with open(os.path.join(root, 'desc.json'), 'w') as handle:
        handle.write('{"envName": "env"}')
    with open(os.path.join(root, 'spec', 'requirements.txt'), 'w') as handle:
        handle.write('pandas\n')


def test_folder_fingerprint_follows_content_and_names_not_location(tmp_path):
    one, two = str(tmp_path / 'one'), str(tmp_path / 'two')
    make_env(one)
    make_env(two)
    assert fp.fingerprint(one) == fp.fingerprint(two)
    assert fp.fingerprint(one).startswith('sha256:')
    with open(os.path.join(two, 'spec', 'requirements.txt'), 'a') as handle:
        handle.write('numpy\n')
    assert fp.fingerprint(one) != fp.fingerprint(two)


def test_renaming_a_file_changes_the_fingerprint(tmp_path):
    root = str(tmp_path / 'env')
    make_env(root)
    before = fp.fingerprint(root)
    os.rename(os.path.join(root, 'desc.json'), os.path.join(root, 'other.json'))
    assert fp.fingerprint(root) != before


def test_file_fingerprint(tmp_path):
    archive = tmp_path / 'model.zip'
    archive.write_bytes(b'abc')
    # sha256('abc')
    assert fp.fingerprint(str(archive)) == 'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'


def test_markers_are_per_node_and_kind_and_forgettable(tmp_path):
    state_dir = str(tmp_path / 'state')
    a = fp.marker_path(state_dir, 'model', '/x/m.zip', 'http://node-a:12000')
    b = fp.marker_path(state_dir, 'model', '/x/m.zip', 'http://node-b:12000/')
    env = fp.marker_path(state_dir, 'code_env', '/x/env/', 'http://node-a:12000')
    assert len({a, b, env}) == 3
    assert fp.marker_path(state_dir, 'model', '/x/m.zip', 'http://node-a:12000/') == a
    assert fp.read_marker(a) is None

    written = fp.write_marker(a, {'fingerprint': 'sha256:1'})
    fp.write_marker(b, {'fingerprint': 'sha256:2'})
    fp.write_marker(env, {'fingerprint': 'sha256:3'})
    assert fp.read_marker(a)['fingerprint'] == 'sha256:1' == written['fingerprint']
    assert sorted(os.listdir(state_dir)) == sorted(os.path.basename(p) for p in (a, b, env))

    assert fp.forget_markers(state_dir, 'model', 'http://node-a:12000') == [os.path.basename(a)]
    assert fp.read_marker(a) is None
    assert fp.read_marker(b) is not None and fp.read_marker(env) is not None


def test_unreadable_marker_counts_as_absent(tmp_path):
    marker = tmp_path / 'broken.json'
    marker.write_text('{not json')
    assert fp.read_marker(str(marker)) is None


def test_node_markers_lists_only_this_nodes_markers_sorted(tmp_path):
    state_dir = str(tmp_path / 'state')
    node, other = 'http://node-a:12000', 'http://node-b:12000'
    for kind, artefact in (('model', '/x/b.zip'), ('code_env', '/x/a-env'), ('built_code_env', '/x/a-env')):
        fp.write_marker(fp.marker_path(state_dir, kind, artefact, node),
                        {'kind': kind, 'path': artefact, 'fingerprint': 'sha256:' + kind, 'node': node,
                         'query': {'language': 'python'}})
    fp.write_marker(fp.marker_path(state_dir, 'model', '/x/a.zip', other),
                    {'kind': 'model', 'path': '/x/a.zip', 'fingerprint': 'sha256:other', 'node': other})

    listed = fp.read_node_markers(state_dir, node + '/')
    assert [(m['path'], m['kind']) for m in listed] == [
        ('/x/a-env', 'built_code_env'), ('/x/a-env', 'code_env'), ('/x/b.zip', 'model')]
    assert listed[2]['fingerprint'] == 'sha256:model' and listed[2]['query'] == {'language': 'python'}
    assert [m['fingerprint'] for m in fp.read_node_markers(state_dir, other)] == ['sha256:other']
    assert fp.read_node_markers(state_dir, 'http://node-c:12000') == []


def test_node_markers_ignore_broken_and_foreign_files(tmp_path):
    state_dir = tmp_path / 'state'
    node = 'http://node-a:12000'
    good = fp.marker_path(str(state_dir), 'model', '/x/m.zip', node)
    fp.write_marker(good, {'kind': 'model', 'path': '/x/m.zip', 'fingerprint': 'sha256:1', 'node': node})
    tag = os.path.basename(good).split('.')[-2]
    (state_dir / ('broken.model.%s.json' % tag)).write_text('{not json')
    (state_dir / ('list.model.%s.json' % tag)).write_text('[1, 2]')
    (state_dir / ('partial.model.%s.json' % tag)).write_text('{"kind": "model", "node": "%s"}' % node)
    # A file named for this node but recorded for another URL, and one whose name lies about its kind.
    (state_dir / ('copied.model.%s.json' % tag)).write_text(
        '{"kind": "model", "path": "/x/c.zip", "fingerprint": "sha256:2", "node": "http://elsewhere:1"}')
    (state_dir / ('renamed.code_env.%s.json' % tag)).write_text(
        '{"kind": "model", "path": "/x/r.zip", "fingerprint": "sha256:3", "node": "%s"}' % node)
    (state_dir / 'notes.txt').write_text('hello')
    (state_dir / ('sub.model.%s.json' % tag)).mkdir()

    assert [m['path'] for m in fp.read_node_markers(str(state_dir), node)] == ['/x/m.zip']


def test_node_markers_of_a_missing_folder(tmp_path):
    assert fp.read_node_markers(str(tmp_path / 'nothing-here'), 'http://node-a:12000') == []
