local a = {x: 1}; a + {has_x: "x" in super, has_y: "y" in super}
