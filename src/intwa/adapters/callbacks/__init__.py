"""The callback delivery client: signed POSTs to customers' URLs, only to addresses the URL rules allow."""
