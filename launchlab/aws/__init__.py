"""The AWS-facing commands: up, verify, bench and down, against a deployed launchlab.

Every AWS call goes through boto3 (which honours AWS_ENDPOINT_URL, so a moto server can stand
in for AWS) and every failure a user can cause ends as one ``launchlab: ...`` line.
"""
