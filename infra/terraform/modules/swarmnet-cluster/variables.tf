variable "hosts" {
  description = "Existing Linux hosts (systemd, root or sudo-less root user). The first becomes the manager (swarmnet init), the others join as workers."
  type = list(object({
    name        = string
    address     = string
    user        = string
    private_key = string # path of the SSH private key on the machine running terraform
  }))
  validation {
    condition     = length(var.hosts) >= 1
    error_message = "hosts must list at least one host (the first is the manager)."
  }
  validation {
    condition     = alltrue([for h in var.hosts : can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", h.address))])
    error_message = "each host's address must be an IPv4 address (it is the node's --advertise-addr)."
  }
}

variable "source_dir" {
  description = "A built swarmnet checkout (make setup) whose bin/, dist/ and node_modules are copied to the hosts."
  type        = string
  default     = null
}

variable "install_dir" {
  description = "Where swarmnet is installed on the hosts."
  type        = string
  default     = "/opt/swarmnet"
}

variable "ssh_command" {
  description = "The ssh client, possibly behind a wrapper that reaches the hosts' network (e.g. a lab's namespace)."
  type        = string
  default     = "ssh"
}

variable "ssh_options" {
  description = "Extra ssh options."
  type        = string
  default     = "-o StrictHostKeyChecking=accept-new"
}

variable "ready_timeout" {
  description = "Seconds to wait until every node is ready."
  type        = number
  default     = 600
}

variable "generation" {
  description = "Any string; when it changes every host is installed again and the cluster formed anew (pass the id of whatever created the hosts, so new hosts get a new cluster)."
  type        = string
  default     = ""
}
