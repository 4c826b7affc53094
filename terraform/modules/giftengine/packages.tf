# Only what runs ships: one archive per package of build/packages/packages.json, generated
# with the per-package requirements files by `giftengine packages` from main.py, the manifest
# and the one pin list functions/requirements.txt (devtools/giftengine_dev/packaging.py;
# docs/decisions/014-deploy-per-function-packages.md). cloudbuild.yaml generates them before
# the plan; by hand, run `.venv/bin/giftengine packages` first. Functions needing the same heavy
# library share a package: core (none), wallet (stripe), reports (pyarrow: on_stream_end).
#
# Like manifest.tf this file declares no provider resource, so tests evaluate it offline.

locals {
  packages_dir = coalesce(var.packages_dir, "${var.repo_root}/build/packages")

  packages = {
    for name, p in jsondecode(file("${local.packages_dir}/packages.json")) : name => {
      functions    = p.functions
      files        = p.files
      requirements = file("${local.packages_dir}/requirements/${name}.txt")
    }
  }

  # manifest function key -> its package
  function_package = merge([for name, p in local.packages : { for f in p.functions : f => name }]...)
}
