//! perfhub reports for mlflow.
