"""What the window hands to the tabs: the loaded engine and steering (state), the model thread, the recorder, the error funnel."""
