environment  = "prod"
region       = "us-west-2"
owner        = "platform-team"
cost_center  = "engineering"
state_bucket = "appliance-prod-tfstate-usw2"

api_host        = "tasks.example.com"
certificate_arn = "arn:aws:acm:us-west-2:222222222222:certificate/00000000-0000-0000-0000-000000000000"
ingress_scheme  = "internet-facing"

# The seed's sizes: api 3-10 replicas, runners 2-10 in prod.
api_replicas = { min = 3, max = 10 }
runners      = { min = 2, max = 10 }

prometheus = { retention = "15d", storage_gib = 50 }
