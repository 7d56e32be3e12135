{ suffix: "!" }
