# -*- coding: utf-8 -*-
# Copyright (c) 2026, dss.apinode contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The options of one user-API query (QUERY_ARGUMENT_SPEC in module_utils/_predict.py). apinode_release takes the
    # same options as suboptions of services[].smoke_tests[], which a fragment cannot reach: its docs repeat them.
    DOCUMENTATION = r'''
options:
  endpoint:
    description: Endpoint id.
    type: str
    required: true
  type:
    description:
      - What the query asks of the endpoint, which is also the last segment of its path.
      - V(predict) - one prediction from O(features) (prediction endpoints, standard or custom).
      - V(predict-multi) - one prediction per record of O(items).
      - V(forecast) - a time-series forecast from the history records in O(items).
      - V(run) - call a Python or R function endpoint with O(params) as its keyword arguments.
      - V(query) - run a SQL query endpoint with O(params) as its named parameters.
      - V(lookup) - look O(data) up in a dataset lookup endpoint.
    type: str
    choices: [predict, predict-multi, forecast, run, query, lookup]
    default: predict
  features:
    description: The features of the record to score. Required with O(type=predict).
    type: dict
  items:
    description:
      - Required with O(type=predict-multi) (the features of each record to score) and O(type=forecast) (the history,
        one record per time step and time series, with its date, target and identifier columns).
    type: list
    elements: dict
  params:
    description:
      - The keyword arguments of the function (O(type=run)) or the named parameters of the SQL query (O(type=query)),
        sent as the body of the query. Defaults to none.
    type: dict
  data:
    description: The record to look up. Required with O(type=lookup).
    type: dict
  generation:
    description:
      - Force the query to this generation (C(dispatch.forcedGeneration)), whatever the service's mapping.
      - The generation must be loaded on the node - in the service's mapping, or preloaded. Otherwise the node
        answers HTTP 400 C(Invalid selected generation) and the task fails, saying the generation is not loaded.
      - The answer must then come from this generation (C(apiContext.serviceGeneration)) unless it carries no
        C(apiContext) and the task judges it with O(expect) or O(expected_status).
      - Not with O(dispatch_key).
    type: str
  dispatch_key:
    description:
      - Send this dispatch key (C(dispatch.dispatchKey)) and let the node pick the generation, as it does for
        callers. A mapping with the V(hash_based) strategy sends the same key to the same generation, and refuses
        (HTTP 400) queries without one. Any generation the service serves may answer.
      - Not with O(generation).
    type: str
  expected_status:
    description:
      - The HTTP statuses that pass. A Python endpoint that answers errors with its own status (for example 422)
        can be tested for it.
    type: list
    elements: int
    default: [200]
  expected_prediction:
    description:
      - The prediction expected - C(result.prediction) with O(type=predict), the list of C(results[].prediction)
        with O(type=predict-multi), compared as a JSON value (C(1) and C("1") differ).
      - Quote a label that YAML would read as something else - V("no") is a string, V(no) unquoted is a
        boolean.
      - Only with O(type=predict) and O(type=predict-multi); for the other types use O(expect).
    type: raw
  expect:
    description:
      - Values the answer must hold, by dotted path into its JSON - names of object fields and indexes of lists
        joined by dots, for example C(result.probas.yes), C(results.0.data.segment) or C(response.status).
      - A path missing from the answer fails the task, like a different value. Values compare as JSON values
        (C(1) and C("1") differ).
    type: dict
'''
