# prod: release tags, after approval. Live payments, protected data.
environment         = "prod"
deletion_protection = true
payments_live       = true
# Set your eSewa merchant code here (EPAYTEST is refused with payments_live):
esewa_product_code = "EPAYTEST"
