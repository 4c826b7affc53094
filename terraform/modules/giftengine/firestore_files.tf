# What firebase.json names for Firestore, read and shaped for firestore.tf. Like manifest.tf,
# this file declares no provider resource, so tests evaluate it offline with terraform console.

locals {
  firebase         = jsondecode(file("${var.repo_root}/firebase.json"))
  firestore_rules  = file("${var.repo_root}/${local.firebase.firestore.rules}")
  firestore_config = jsondecode(file("${var.repo_root}/${local.firebase.firestore.indexes}"))

  composite_indexes = {
    for idx in try(local.firestore_config.indexes, []) :
    join(" ", concat(
      [idx.collectionGroup, try(idx.queryScope, "COLLECTION")],
      [for f in idx.fields : "${f.fieldPath}:${try(f.order, f.arrayConfig, "")}"],
    )) => idx
  }

  field_overrides = {
    for o in try(local.firestore_config.fieldOverrides, []) : "${o.collectionGroup}.${o.fieldPath}" => o
  }
}
