"""Tables and the HTML report of a campaign."""
