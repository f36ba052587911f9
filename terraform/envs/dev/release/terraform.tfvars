environment  = "dev"
region       = "us-east-1"
owner        = "platform-team"
cost_center  = "engineering"
state_bucket = "appliance-dev-tfstate-use1"

api_host        = "tasks.dev.example.com"
certificate_arn = "arn:aws:acm:us-east-1:111111111111:certificate/00000000-0000-0000-0000-000000000000"
ingress_scheme  = "internet-facing"

# The seed's sizes: api 2-3 replicas, runners 1-3 in dev.
api_replicas = { min = 2, max = 3 }
runners      = { min = 1, max = 3 }

prometheus = { retention = "7d", storage_gib = 20 }
