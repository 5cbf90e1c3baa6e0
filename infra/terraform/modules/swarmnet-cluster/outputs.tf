output "nodes" {
  description = "Every node: name, address and role."
  value = [for i, h in var.hosts : {
    name    = h.name
    address = h.address
    role    = i == 0 ? "manager" : "worker"
  }]
  depends_on = [terraform_data.ready]
}

output "manager" {
  description = "The manager's address (join with `swarmnet join --token … <manager>`)."
  value       = local.manager.address
  depends_on  = [terraform_data.ready]
}
