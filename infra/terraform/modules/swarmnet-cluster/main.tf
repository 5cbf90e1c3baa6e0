# Installs swarmnet on existing hosts over SSH and forms a cluster: host 1 `init`, the rest
# `join` as workers. Built-in terraform_data + local-exec only, so it runs without provider
# downloads. Destroy makes every node leave (best effort: a host that is gone is skipped).
terraform {
  required_version = ">= 1.4"
}

locals {
  source_dir = coalesce(var.source_dir, abspath("${path.module}/../../../.."))
  scripts    = abspath("${path.module}/scripts")
  manager    = var.hosts[0]
  ssh = {
    SSH_COMMAND = var.ssh_command
    SSH_OPTIONS = var.ssh_options
  }
}

resource "terraform_data" "install" {
  for_each = { for i, h in var.hosts : h.name => h }
  input = {
    address     = each.value.address
    user        = each.value.user
    private_key = each.value.private_key
  }
  triggers_replace = [each.value.address, var.install_dir, var.generation]

  provisioner "local-exec" {
    command = "${local.scripts}/install.sh"
    environment = merge(local.ssh, {
      ADDR        = each.value.address
      SSH_USER    = each.value.user
      KEY         = each.value.private_key
      SOURCE      = local.source_dir
      INSTALL_DIR = var.install_dir
    })
  }
}

resource "terraform_data" "manager" {
  depends_on       = [terraform_data.install]
  triggers_replace = [var.generation, local.manager.address]
  input = {
    script  = "${local.scripts}/leave.sh"
    ssh     = local.ssh
    address = local.manager.address
    user    = local.manager.user
    key     = local.manager.private_key
  }

  provisioner "local-exec" {
    command = "${local.scripts}/init.sh"
    environment = merge(local.ssh, {
      ADDR     = local.manager.address
      SSH_USER = local.manager.user
      KEY      = local.manager.private_key
    })
  }

  provisioner "local-exec" {
    when       = destroy
    on_failure = continue
    command    = self.output.script
    environment = merge(self.output.ssh, {
      ADDR     = self.output.address
      SSH_USER = self.output.user
      KEY      = self.output.key
      FORCE    = "1"
    })
  }
}

resource "terraform_data" "worker" {
  for_each   = { for h in slice(var.hosts, 1, length(var.hosts)) : h.name => h }
  depends_on = [terraform_data.manager]
  input = {
    script  = "${local.scripts}/leave.sh"
    ssh     = local.ssh
    address = each.value.address
    user    = each.value.user
    key     = each.value.private_key
  }
  triggers_replace = [terraform_data.manager.id]

  provisioner "local-exec" {
    command = "${local.scripts}/join.sh"
    environment = merge(local.ssh, {
      ADDR             = each.value.address
      SSH_USER         = each.value.user
      KEY              = each.value.private_key
      MANAGER_ADDR     = local.manager.address
      MANAGER_SSH_USER = local.manager.user
      MANAGER_KEY      = local.manager.private_key
    })
  }

  provisioner "local-exec" {
    when       = destroy
    on_failure = continue
    command    = self.output.script
    environment = merge(self.output.ssh, {
      ADDR     = self.output.address
      SSH_USER = self.output.user
      KEY      = self.output.key
    })
  }
}

resource "terraform_data" "ready" {
  depends_on       = [terraform_data.worker]
  triggers_replace = [terraform_data.manager.id, [for w in terraform_data.worker : w.id]]

  provisioner "local-exec" {
    command = "${local.scripts}/wait-ready.sh"
    environment = merge(local.ssh, {
      ADDR     = local.manager.address
      SSH_USER = local.manager.user
      KEY      = local.manager.private_key
      NODES    = tostring(length(var.hosts))
      TIMEOUT  = tostring(var.ready_timeout)
    })
  }
}
