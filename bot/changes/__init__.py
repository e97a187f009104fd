"""What changed: deploys, config changes, flag flips and rollbacks, recorded from the API,
the CLI, GitHub and Argo CD, and attached to the incidents they may have caused."""
