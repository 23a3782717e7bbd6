# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Pure logic of the read-only views: service shape, key masking, metrics summary."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.dss.apinode.plugins.module_utils._keys import key_metadata, keys_with_label
from ansible_collections.dss.apinode.plugins.module_utils._service_state import (
    find_summary,
    read_services,
    service_state,
)
from ansible_collections.dss.apinode.plugins.modules.apinode_info import summarise_metrics


def test_service_state_uses_the_module_mapping_shape():
    # apinode_info and apinode_service return the same shape, so facts compare with module results.
    state = service_state({'serviceId': 's', 'enabled': True,
                           'activeMapping': {'entries': [{'generation': 'v1', 'proba': 0.9},
                                                         {'generation': 'v2', 'proba': 0.1}],
                                             'strategy': 'HASH_BASED', 'auditRoutingKey': 'ab'}},
                          [{'generationId': 'v1', 'createdOn': 1, 'mounted': True, 'mapped': 0.9, 'extra': 'x'}])
    assert state['mapping'] == {'mode': 'MULTI_GENERATION', 'strategy': 'hash_based', 'auditRoutingKey': 'ab',
                                'entries': [{'generation': 'v1', 'proba': 0.9}, {'generation': 'v2', 'proba': 0.1}]}
    assert state['generations'] == [{'generationId': 'v1', 'createdOn': 1, 'createdWithDSSVersion': None,
                                     'createdWithDSSConfVersion': None, 'mounted': True, 'mapped': 0.9}]


def test_no_mapping():
    assert find_summary([{'serviceId': 'a'}, 'junk'], 'b') is None
    state = service_state({'serviceId': 's', 'enabled': False, 'startAbortedReason': 'boom'}, [])
    assert state == {'id': 's', 'exists': True, 'enabled': False, 'mapping': None, 'generations': [],
                     'start_aborted_reason': 'boom'}


class RecordingClient:
    """Answers GET services and GET services/<id>/generations from a dict, and records the paths asked."""

    def __init__(self, services):
        self.services = services
        self.paths = []

    def get(self, rel_path):
        self.paths.append(rel_path)
        if rel_path == 'services':
            return [{'serviceId': sid, 'enabled': True,
                     'activeMapping': {'entries': [{'generation': gens[-1], 'proba': 1.0}]}}
                    for sid, gens in self.services.items()]
        sid = rel_path.split('/')[1]
        return {'generations': [{'generationId': g} for g in self.services[sid]]}


def test_read_services_with_and_without_generations():
    client = RecordingClient({'fraud': ['v1'], 'churn': ['v1', 'v2']})
    full = read_services(client)
    assert [s['id'] for s in full] == ['churn', 'fraud']
    assert [g['generationId'] for g in full[0]['generations']] == ['v1', 'v2']
    assert client.paths == ['services', 'services/churn/generations', 'services/fraud/generations']

    client.paths = []
    light = read_services(client, only={'churn'}, generations=False)
    assert client.paths == ['services']
    assert light == [{'id': 'churn', 'exists': True, 'enabled': True,
                      'mapping': dict(full[0]['mapping'])}]
    assert light[0]['mapping']['generation'] == 'v2'


def test_key_metadata_never_holds_the_secret():
    key = {'key': 'S3cret', 'id': 'i1', 'label': 'l', 'createdOn': 1, 'unknown': 'x'}
    assert key_metadata(key) == {'id': 'i1', 'label': 'l', 'createdOn': 1, 'key': '********'}
    assert key_metadata(key, show_mask=False) == {'id': 'i1', 'label': 'l', 'createdOn': 1}
    assert key_metadata({'label': 'no secret listed'}) == {'label': 'no secret listed'}
    assert keys_with_label([key, {'label': 'm'}], 'l') == [key]


def test_metrics_summary_per_service_and_endpoint():
    metrics = {
        'meters': {
            'dku.lambda.service.churn.predict.requests': {'count': 5},
            'dku.lambda.service.churn.predict.successRequests': {'count': 4},
            'dku.lambda.service.churn.explain.requests': {'count': 2},
            'dku.lambda.service.churn.requestsPerGeneration.v1': {'count': 7},
            'dku.lambda.service.fraud.score.requests': {'count': 1},
            'jvm.other.requests': {'count': 100},
        },
        'counters': {'dku.lambda.service.churn.activeRequests': {'count': 1},
                     'dku.lambda.service.churn.predict.freePipelines': {'count': 3}},
    }
    summary = summarise_metrics(metrics)
    assert summary['churn'] == {'requests': 7, 'success_requests': 4, 'active_requests': 1, 'endpoints': {
        'predict': {'requests': 5, 'success_requests': 4}, 'explain': {'requests': 2, 'success_requests': 0}}}
    assert summary['fraud']['requests'] == 1
    assert set(summarise_metrics(metrics, only={'fraud'})) == {'fraud'}
    assert summarise_metrics({}) == {}
