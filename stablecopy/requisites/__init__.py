"""Page requisites: what an archived page needs to render (stylesheets, fonts, images, scripts, embeds)."""
