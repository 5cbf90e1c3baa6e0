# A local swarmnet cluster on QEMU VMs (a VM lab: `swarmnet lab up --vm`), formed by the
# swarmnet-cluster module over SSH exactly as on machines of any cloud provider. The VMs sit
# on the lab's own underlay (192.0.2.0/24 in a namespace of the lab), so the module's ssh
# runs inside the lab's switch namespace (`swarmnet lab exec … switch -- ssh`).
#
#   terraform -chdir=infra/terraform/local-qemu init
#   terraform -chdir=infra/terraform/local-qemu apply -auto-approve -var name=tf -var nodes=2
#   terraform -chdir=infra/terraform/local-qemu destroy -auto-approve -var name=tf -var nodes=2
terraform {
  required_version = ">= 1.4"
}

variable "name" {
  description = "Lab name: a lower-case letter then up to 7 lower-case letters or digits."
  type        = string
  default     = "tf"
  validation {
    condition     = can(regex("^[a-z][a-z0-9]{0,7}$", var.name))
    error_message = "name must be a lower-case letter then up to 7 lower-case letters or digits."
  }
}

variable "nodes" {
  description = "Number of VMs (1-8); VM 1 is the manager."
  type        = number
  default     = 2
  validation {
    condition     = var.nodes >= 1 && var.nodes <= 8 && floor(var.nodes) == var.nodes
    error_message = "nodes must be an integer from 1 to 8."
  }
}

variable "repo" {
  description = "The built swarmnet checkout (default: the one holding this configuration)."
  type        = string
  default     = null
}

locals {
  repo = coalesce(var.repo, abspath("${path.module}/../../.."))
  bin  = "${local.repo}/bin/swarmnet"
}

# `lab down` first: a lab left by a killed apply (or a killed QEMU) is replaced, not reused.
resource "terraform_data" "lab" {
  input            = { bin = local.bin, name = var.name }
  triggers_replace = [var.name, var.nodes, local.repo]

  provisioner "local-exec" {
    command = "${local.bin} lab down --name ${var.name} >&2 && ${local.bin} lab up --vm --name ${var.name} ${var.nodes}"
  }

  provisioner "local-exec" {
    when    = destroy
    command = "${self.output.bin} lab down --name ${self.output.name}"
  }
}

module "cluster" {
  source     = "../modules/swarmnet-cluster"
  depends_on = [terraform_data.lab]
  hosts = [for i in range(var.nodes) : {
    name        = "${var.name}-${i + 1}"
    address     = "192.0.2.${11 + i}"
    user        = "root"
    private_key = "/var/lib/swarmnet-lab/${var.name}/id_ed25519"
  }]
  generation  = terraform_data.lab.id
  source_dir  = local.repo
  ssh_command = "${local.bin} lab exec --name ${var.name} switch -- ssh"
  ssh_options = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
}

output "nodes" {
  description = "Every node: name, address (on the lab's underlay) and role."
  value       = module.cluster.nodes
}

output "manager" {
  value = module.cluster.manager
}
