"""微心愿: residents' small wishes, approved by staff and fulfilled by party members."""
