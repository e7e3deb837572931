print("mydata")
