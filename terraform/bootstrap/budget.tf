# One budget per environment project: e-mails the billing account's admins at 50 %, 90 %
# and 100 % of the monthly amount, and at a forecast of 100 %. A budget alerts, it does not
# cap spending. https://cloud.google.com/billing/docs/how-to/budgets
resource "google_billing_budget" "env" {
  for_each = var.billing_account == "" ? {} : var.environments

  billing_account = var.billing_account
  display_name    = "giftengine ${each.key}"

  budget_filter {
    projects = ["projects/${data.google_project.env[each.key].number}"]
  }

  amount {
    specified_amount {
      currency_code = "USD"
      units         = tostring(each.value.budget_usd)
    }
  }

  threshold_rules {
    threshold_percent = 0.5
  }
  threshold_rules {
    threshold_percent = 0.9
  }
  threshold_rules {
    threshold_percent = 1.0
  }
  threshold_rules {
    threshold_percent = 1.0
    spend_basis       = "FORECASTED_SPEND"
  }

  all_updates_rule {
    disable_default_iam_recipients = false
  }

  depends_on = [google_project_service.ops]
}
