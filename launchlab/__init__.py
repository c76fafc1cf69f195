"""launchlab's operator toolkit: what each launch type costs and demands, read from cdk.out."""
