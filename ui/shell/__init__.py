"""The window around the tabs: layout, menus, model loading, start-up and the launcher."""
