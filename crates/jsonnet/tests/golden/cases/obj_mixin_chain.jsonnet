local m1 = {x+: [1]}; local m2 = {x+: [2]}; {x: [0]} + m1 + m2
