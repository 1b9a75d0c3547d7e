"""Amazon Web Services behind the EC2 provider, one concept per module.

settings (what the student chose, from the environment), session (credentials
and region, checked before anything is created), cost (the price table and the
estimate), guard (instance limits and the vCPU quota), tags (how every
resource is marked as the stack's), userdata (the workshop machine on Debian's
own image), network (subnet, security group, key pair), media (the stack's S3
bucket and its scoped credentials), teardown (delete, verify, reap).
"""
