"""Each launch type's cost and operational-burden rules, one module per launch type.

The launch-type registry (stacks/launch_types.py) names each module. A module defines:

- ``price(unit, prices, profile, assumptions, result)``: adds the line items of the launch
  type's compute to ``result`` (an :class:`~launchlab.report.cost.Estimate`); what any launch
  type may have (load balancers, the shared VPC, logs, ECR, data transfer) is priced by
  :func:`launchlab.report.cost.estimate` itself;
- ``ops(unit, common)``: the launch type's row of the operational-burden table, given the
  columns every row shares (:class:`launchlab.report.ops.Common`).
"""
