//! perfhub reports for workflow.
