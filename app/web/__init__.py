"""The chart page and static routes; imports market/, schemas/, neutral ground; never api/ or ws/."""
